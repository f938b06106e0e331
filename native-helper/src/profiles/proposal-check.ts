/**
 * Import-time check of a profile's proposals against what the IKE engine
 * implements (ike/proposals.ts), so an unsupported algorithm is refused
 * when IT or the user imports the profile — naming the keyword — instead of
 * surfacing as a failed connection later. The schema in api/ checks the
 * syntax only (it stays free of engine code for the renderer).
 */
import type { Profile, ProfileIssue } from '../api/profile.js';
import { parseEspProposal, parseIkeProposal, ProposalError } from '../ike/proposals.js';

export function proposalIssues(profile: Profile, prefix = ''): ProfileIssue[] {
  const issues: ProfileIssue[] = [];
  const check = (list: readonly string[], kind: 'ike' | 'esp', parse: (text: string) => unknown): void => {
    list.forEach((text, index) => {
      try {
        parse(text);
      } catch (error) {
        issues.push({ path: `${prefix}/proposals/${kind}/${index}`, message: error instanceof ProposalError ? error.message : String(error) });
      }
    });
  };
  check(profile.proposals.ike, 'ike', parseIkeProposal);
  check(profile.proposals.esp, 'esp', parseEspProposal);
  return issues;
}
