/**
 * A subset of the OASIS SARIF 2.1.0 JSON schema (draft-07), covering every object jinbao emits
 * with the official definitions' types, enums, required fields and `additionalProperties: false`.
 * No npm package here ships the schema and tests run offline, so it is restated from the
 * specification (sarif-v2.1.0-os, schema "sarif-schema-2.1.0.json") for the fields we write;
 * objects we never emit are not described.
 */
const propertyBag = {
  type: 'object',
  properties: { tags: { type: 'array', minItems: 0, uniqueItems: true, default: [], items: { type: 'string' } } },
  additionalProperties: true,
};

export const SARIF_210_SUBSET = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema (subset)',
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string', format: 'uri' },
    version: { enum: ['2.1.0'] },
    runs: { type: ['array', 'null'], minItems: 0, uniqueItems: false, items: { $ref: '#/definitions/run' } },
    properties: { $ref: '#/definitions/propertyBag' },
  },
  required: ['version', 'runs'],
  definitions: {
    propertyBag,
    message: {
      type: 'object',
      additionalProperties: false,
      properties: {
        text: { type: 'string' },
        markdown: { type: 'string' },
        id: { type: 'string' },
        arguments: { type: 'array', minItems: 0, uniqueItems: false, items: { type: 'string' } },
        properties: { $ref: '#/definitions/propertyBag' },
      },
      anyOf: [{ required: ['text'] }, { required: ['id'] }],
    },
    multiformatMessageString: {
      type: 'object',
      additionalProperties: false,
      properties: { text: { type: 'string' }, markdown: { type: 'string' }, properties: { $ref: '#/definitions/propertyBag' } },
      required: ['text'],
    },
    run: {
      type: 'object',
      additionalProperties: false,
      properties: {
        tool: { $ref: '#/definitions/tool' },
        invocations: { type: 'array', minItems: 0, uniqueItems: false, items: { $ref: '#/definitions/invocation' } },
        results: { type: ['array', 'null'], minItems: 0, uniqueItems: false, items: { $ref: '#/definitions/result' } },
        properties: { $ref: '#/definitions/propertyBag' },
      },
      required: ['tool'],
    },
    tool: {
      type: 'object',
      additionalProperties: false,
      properties: { driver: { $ref: '#/definitions/toolComponent' }, properties: { $ref: '#/definitions/propertyBag' } },
      required: ['driver'],
    },
    toolComponent: {
      type: 'object',
      additionalProperties: false,
      properties: {
        name: { type: 'string' },
        version: { type: 'string' },
        semanticVersion: { type: 'string' },
        informationUri: { type: 'string', format: 'uri' },
        rules: { type: 'array', minItems: 0, uniqueItems: true, default: [], items: { $ref: '#/definitions/reportingDescriptor' } },
        properties: { $ref: '#/definitions/propertyBag' },
      },
      required: ['name'],
    },
    reportingDescriptor: {
      type: 'object',
      additionalProperties: false,
      properties: {
        id: { type: 'string' },
        name: { type: 'string' },
        shortDescription: { $ref: '#/definitions/multiformatMessageString' },
        fullDescription: { $ref: '#/definitions/multiformatMessageString' },
        help: { $ref: '#/definitions/multiformatMessageString' },
        helpUri: { type: 'string', format: 'uri' },
        defaultConfiguration: { $ref: '#/definitions/reportingConfiguration' },
        properties: { $ref: '#/definitions/propertyBag' },
      },
      required: ['id'],
    },
    reportingConfiguration: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', default: true },
        level: { default: 'warning', enum: ['none', 'note', 'warning', 'error'] },
        rank: { type: 'number', default: -1.0, minimum: -1.0, maximum: 100.0 },
        properties: { $ref: '#/definitions/propertyBag' },
      },
    },
    invocation: {
      type: 'object',
      additionalProperties: false,
      properties: {
        startTimeUtc: { type: 'string', format: 'date-time' },
        endTimeUtc: { type: 'string', format: 'date-time' },
        exitCode: { type: 'integer' },
        executionSuccessful: { type: 'boolean' },
        properties: { $ref: '#/definitions/propertyBag' },
      },
      required: ['executionSuccessful'],
    },
    result: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ruleId: { type: 'string' },
        ruleIndex: { type: 'integer', default: -1, minimum: -1 },
        kind: { default: 'fail', enum: ['notApplicable', 'pass', 'fail', 'review', 'open', 'informational'] },
        level: { default: 'warning', enum: ['none', 'note', 'warning', 'error'] },
        message: { $ref: '#/definitions/message' },
        locations: { type: 'array', minItems: 0, uniqueItems: false, default: [], items: { $ref: '#/definitions/location' } },
        properties: { $ref: '#/definitions/propertyBag' },
      },
      required: ['message'],
    },
    location: {
      type: 'object',
      additionalProperties: false,
      properties: {
        id: { type: 'integer', minimum: -1, default: -1 },
        physicalLocation: { $ref: '#/definitions/physicalLocation' },
        logicalLocations: { type: 'array', minItems: 0, uniqueItems: true, default: [], items: { $ref: '#/definitions/logicalLocation' } },
        message: { $ref: '#/definitions/message' },
        properties: { $ref: '#/definitions/propertyBag' },
      },
    },
    physicalLocation: {
      type: 'object',
      additionalProperties: false,
      properties: { artifactLocation: { $ref: '#/definitions/artifactLocation' }, properties: { $ref: '#/definitions/propertyBag' } },
      anyOf: [{ required: ['address'] }, { required: ['artifactLocation'] }],
    },
    artifactLocation: {
      type: 'object',
      additionalProperties: false,
      properties: {
        uri: { type: 'string', format: 'uri-reference' },
        uriBaseId: { type: 'string' },
        index: { type: 'integer', default: -1, minimum: -1 },
        properties: { $ref: '#/definitions/propertyBag' },
      },
    },
    logicalLocation: {
      type: 'object',
      additionalProperties: false,
      properties: {
        name: { type: 'string' },
        index: { type: 'integer', default: -1, minimum: -1 },
        fullyQualifiedName: { type: 'string' },
        decoratedName: { type: 'string' },
        parentIndex: { type: 'integer', default: -1, minimum: -1 },
        kind: { type: 'string' },
        properties: { $ref: '#/definitions/propertyBag' },
      },
    },
  },
} as const;
