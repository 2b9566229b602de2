/**
 * Who may administer jinbao: operators are people with certificates, each holding one role
 * (system, security or audit administrator, DR coordinator, viewer) for the whole nation or one
 * province; MLPS level 3's separation of the three administrators is enforced when roles are
 * given. The certificate service will ask this feature before it runs an operation.
 */
export { ADMINISTRATOR_ROLES, ROLES, assignmentConflict, isRole, separation, type Assignment, type Conflict, type Operator, type OperatorStatus, type Role, type Separation } from './model.js';
export { addOperator, changeOperator, currentCeremony, operatorByCertificate, listOperators, operatorSeparation, passphraseOpensCaKeys, showOperator, splitPassphrase, type AddOperatorRequest, type AddedOperator, type SplitRequest } from './operations.js';
export { parseShare, ShareCollector, formatShare, type Ceremony, type Share } from './ceremony.js';
export { OPERATOR_MIGRATIONS, OPERATORS_COMPONENT } from './store.js';
export { OPERATORS_MESSAGES } from './messages.js';
export { authorize, commandOf, PERMISSIONS, type Authorized } from './permissions.js';
export { APPROVAL_MIGRATIONS, APPROVALS_COMPONENT, DEFAULT_POLICY, approvalChain, approvalPolicy, asOperator, currentOperator, decideRequest, decisionConflict, dualControlOf, finishRequest, listRequests, proposeRequest, roleOf, setApprovalPolicy, showRequest, type Acting, type ApprovalPolicy, type ApprovalRequest, type Decision, type DualControl, type RequestStatus } from './approvals.js';
export { authenticate, loginStates, login, logout, unlockOperator, setOperatorPassword, administratorsWithoutPassword, type AuthOutcome, type AuthRefusal, type Caller, type Explain, type LoginState, type OpenedSession, type Presented } from './authentication.js';
export { DEFAULT_AUTH_POLICY, passwordProblem, type AuthPolicy } from './credentials.js';
