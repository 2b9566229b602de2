/**
 * Who may administer jinbao: operators are people with certificates, each holding one role
 * (system, security or audit administrator, DR coordinator, viewer) for the whole nation or one
 * province; MLPS level 3's separation of the three administrators is enforced when roles are
 * given. The certificate service will ask this feature before it runs an operation.
 */
export { ADMINISTRATOR_ROLES, ROLES, assignmentConflict, isRole, separation, type Assignment, type Conflict, type Operator, type OperatorStatus, type Role, type Separation } from './model.js';
export { addOperator, changeOperator, listOperators, operatorSeparation, showOperator, type AddOperatorRequest, type AddedOperator } from './operations.js';
export { OPERATOR_MIGRATIONS, OPERATORS_COMPONENT } from './store.js';
export { OPERATORS_MESSAGES } from './messages.js';
