/**
 * The IKEv2 initiator engine (sans-I/O): IkeSession plus what the daemon
 * needs to configure it and to carry out its actions.
 */
export type { AssignedConfig, ChildSaSpec, Endpoint, EspAlgorithms, EspSaKeys, IkeAction, IkeEvent, IkeFailure, IkeStage } from './actions.js';
export { IkeSession, DEFAULT_IKE_MTU, DEFAULT_RETRANSMIT } from './session.js';
export type { Datagram, IkeSaState, IkeSessionConfig, IkeSessionDeps, LocalAuth, NegotiatedInfo } from './session.js';
export {
  DEFAULT_ESP_PROPOSALS,
  DEFAULT_IKE_PROPOSALS,
  ProposalError,
  checkChosen,
  formatProposalSpec,
  offeredGroups,
  parseEspProposal,
  parseEspProposals,
  parseIkeProposal,
  parseIkeProposals,
  toEspSuite,
  toIkeSuite,
  toSaPayload,
} from './proposals.js';
export type { ChosenProposal, ChosenResult, EncrAlgorithm, EspProposalSpec, IkeProposalSpec, OfferedProposal, ProposalSpec, SaOffer } from './proposals.js';
export {
  ANY_IPV4,
  ANY_IPV6,
  TrafficSelectorError,
  checkNarrowed,
  formatAddress,
  formatTrafficSelector,
  isSubset,
  parseAddress,
  selectorFromCidr,
} from './traffic-selectors.js';
export { buildConfigRequest, describeConfig, parseConfigReply } from './config-payload.js';
export type { ConfigReply, ConfigRequest } from './config-payload.js';
export { failureFromNotify, makeFailure, unreachableFailure } from './failures.js';
export type { FailureContext } from './failures.js';
export { DEFAULT_REASSEMBLY_LIMITS, FragmentReassembler, protect, unprotect } from './protection.js';
export type { MessageHeader, ProtectInput, ReassemblyLimits, ReassemblyResult, SkDirection, UnprotectResult } from './protection.js';
