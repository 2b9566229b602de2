import { describe, expect, it } from 'vitest';
import { applicationOfNames, enforceSitePolicy } from '../../pki/acme/index.js';
import { renderSite, type KubeObject } from '../index.js';
import { buildFabric, site, smallInventory } from './inventory.js';

const fabric = buildFabric();
const { allocations } = fabric.allocate();
const render = (id: string, options = {}) => renderSite(fabric, fabric.site(id), allocations, options);
const ofKind = <K extends KubeObject['kind']>(objects: KubeObject[], kind: K) => objects.filter((o): o is Extract<KubeObject, { kind: K }> => o.kind === kind);
const ROOT_PEM = `-----BEGIN CERTIFICATE-----\nMIIBroot\n-----END CERTIFICATE-----\n`;

describe('renderSite: the ACME ClusterIssuer', () => {
  it('GIVEN no options WHEN a site is rendered THEN its issuer points at the ministry-zone default URL, names the EAB Secret and is annotated as a placeholder', () => {
    const [issuer, ...more] = ofKind(render('440100'), 'ClusterIssuer');
    expect(more).toEqual([]);
    expect(issuer!.metadata.name).toBe('jinbao-acme');
    expect(issuer!.spec.acme).toEqual({
      server: 'https://pki.s000000.jinbao.internal/acme/directory',
      privateKeySecretRef: { name: 'jinbao-acme-account' },
      externalAccountBinding: { keyID: '', keySecretRef: { name: 'jinbao-acme-eab', key: 'hmac-key' } },
      solvers: [{ http01: { ingress: {} } }],
    });
    expect(issuer!.metadata.annotations).toEqual({
      'jinbao.io/acme-site': '440100',
      'jinbao.io/acme-eab': 'placeholder: run jinbao acme eab create --site 440100 --json, store its hmacKey in Secret jinbao-acme-eab (key hmac-key), then render again',
      'jinbao.io/acme-ca-bundle': 'placeholder: render with the trust bundle (jinbao pki cas --pem root) so cert-manager trusts the service',
    });
  });

  it('GIVEN a public URL, an EAB key id and the trust bundle THEN the issuer carries them and no placeholder', () => {
    const [issuer] = ofKind(
      render('440100', { trustBundle: [ROOT_PEM], certificateService: { publicUrl: 'https://ca.example.gov.cn:8443/', eabKeyIds: { '440100': 'kid-1', '440300': 'kid-2' } } }),
      'ClusterIssuer',
    );
    expect(issuer!.spec.acme.server).toBe('https://ca.example.gov.cn:8443/acme/directory');
    expect(issuer!.spec.acme.externalAccountBinding.keyID).toBe('kid-1');
    expect(Buffer.from(issuer!.spec.acme.caBundle!, 'base64').toString()).toBe(ROOT_PEM);
    expect(issuer!.metadata.annotations).toEqual({ 'jinbao.io/acme-site': '440100' });
  });

  it('GIVEN any option WHEN rendered THEN no secret value is in the objects: only Secret names and keys', () => {
    const text = JSON.stringify(render('000000', { certificateService: { eabKeyIds: { '000000': 'kid-0' } } }));
    expect(text).not.toMatch(/hmacKey|password|PRIVATE KEY/i);
    expect(text).toContain('"secretKeyRef":{"name":"jinbao-serve-passphrase","key":"passphrase"}');
  });

  it.each([
    ['http://pki.example', 'an https:// URL'],
    ['https://user:pw@pki.example', 'without credentials'],
    ['https://pki.example/?x=1', 'query'],
    ['not a url', 'an https:// URL'],
  ])('GIVEN the public URL %s THEN rendering is refused, naming the value and an example', (url, want) => {
    expect(() => render('440100', { certificateService: { publicUrl: url } })).toThrow(`certificate service URL: got "${url}", want an https:// URL without credentials, query or fragment (e.g. https://pki.s000000.jinbao.internal)`);
    expect(want).toBeTruthy();
  });
});

describe('renderSite: a Certificate per MLPS level-3 application', () => {
  it('GIVEN a level-3 site THEN each hosted domain gets a Certificate in its namespace, from the ClusterIssuer, for its name in the site zone', () => {
    const certs = ofKind(render('440000'), 'Certificate');
    expect(certs.map((c) => c.metadata.namespace)).toEqual(fabric.domains(fabric.site('440000')));
    const exchange = certs.find((c) => c.metadata.namespace === 'exchange')!;
    expect(exchange.metadata.name).toBe('exchange-tls');
    expect(exchange.spec).toEqual({
      secretName: 'exchange-tls',
      dnsNames: ['exchange.s440000.jinbao.internal'],
      issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'jinbao-acme' },
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
    });
  });

  it("GIVEN every site's Certificates THEN the ACME policy accepts each name for that site and maps it to the Certificate's application", () => {
    for (const s of fabric.sites) {
      for (const c of ofKind(render(s.id), 'Certificate')) {
        expect(() => enforceSitePolicy(fabric, s.id, c.spec.dnsNames)).not.toThrow();
        expect(applicationOfNames(fabric, s.id, c.spec.dnsNames)).toBe(c.metadata.namespace);
      }
    }
  });

  it("GIVEN a Certificate's names THEN another site's account may not request them", () => {
    const [cert] = ofKind(render('440100'), 'Certificate');
    let refusal: unknown;
    try {
      enforceSitePolicy(fabric, '440300', cert!.spec.dnsNames);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toMatchObject({ type: 'rejectedIdentifier' });
    expect(JSON.stringify(refusal)).toContain('employee-insurance.s440100.jinbao.internal: a name of site 440100');
  });

  it('GIVEN a site below MLPS level 3 THEN it gets the issuer but no Certificate', () => {
    const low = buildFabric({ ...smallInventory(), sites: [...smallInventory().sites.filter((s) => s.id !== '440300'), site('440300', 'prefecture', { mlpsLevel: 2 })] });
    const objects = renderSite(low, low.site('440300'), low.allocate().allocations);
    expect(ofKind(objects, 'Certificate')).toEqual([]);
    expect(ofKind(objects, 'ClusterIssuer')).toHaveLength(1);
  });

  it('GIVEN a namespace prefix THEN each Certificate lives in the prefixed namespace', () => {
    expect(ofKind(render('440100', { namespacePrefix: 'gz-' }), 'Certificate').map((c) => c.metadata.namespace)).toEqual(['gz-employee-insurance', 'gz-exchange']);
  });
});

describe('renderSite: the certificate service in the ministry stack', () => {
  const ministry = render('000000');

  it('GIVEN the ministry THEN its PKI namespace runs two jinbao serve replicas, a Service, a PodDisruptionBudget and their network policy', () => {
    const [deployment] = ofKind(ministry, 'Deployment');
    const [service] = ofKind(ministry, 'Service');
    const [pdb] = ofKind(ministry, 'PodDisruptionBudget');
    expect([deployment, service, pdb].map((o) => `${o!.metadata.namespace}/${o!.metadata.name}`)).toEqual(Array(3).fill('jinbao-pki/jinbao-serve'));
    expect(deployment!.spec.replicas).toBe(2);
    expect(pdb!.spec).toEqual({ minAvailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'jinbao-serve' } } });
    expect(service!.spec.ports).toEqual([{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
    const container = deployment!.spec.template.spec.containers[0]!;
    expect(container.args).toEqual(['serve', '--listen', '0.0.0.0:8443', '--public-url', 'https://pki.s000000.jinbao.internal', '--tls-cert', '/etc/jinbao/tls/tls.crt', '--tls-key', '/etc/jinbao/tls/tls.key']);
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.env).toEqual([
      { name: 'JINBAO_STATE', valueFrom: { secretKeyRef: { name: 'jinbao-serve-state', key: 'state-url' } } },
      { name: 'JINBAO_PKI_PASSPHRASE', valueFrom: { secretKeyRef: { name: 'jinbao-serve-passphrase', key: 'passphrase' } } },
    ]);
    expect(deployment!.spec.template.spec.volumes.map((v) => v.secret?.secretName ?? 'emptyDir')).toEqual(['jinbao-serve-tls', 'jinbao-serve-db-client', 'emptyDir']);
    const policy = ministry.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'allow-certificate-service');
    expect(policy).toMatchObject({ metadata: { namespace: 'jinbao-pki' }, spec: { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ protocol: 'TCP', port: 8443 }] }] } });
  });

  it('GIVEN an image and a public URL THEN the Deployment runs that image and serves that URL', () => {
    const [deployment] = ofKind(render('000000', { certificateService: { image: 'registry.example/jinbao:1.2.3', publicUrl: 'https://ca.example' } }), 'Deployment');
    expect(deployment!.spec.template.spec.containers[0]!.image).toBe('registry.example/jinbao:1.2.3');
    expect(deployment!.spec.template.spec.containers[0]!.args).toContain('https://ca.example');
  });

  it('GIVEN a province or prefecture THEN it runs no service, only enrolls', () => {
    for (const id of ['440000', '440100']) {
      expect(render(id).filter((o) => ['Deployment', 'Service', 'PodDisruptionBudget'].includes(o.kind))).toEqual([]);
      expect(render(id).some((o) => o.metadata.name === 'allow-certificate-service')).toBe(false);
    }
  });
});
