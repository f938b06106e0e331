/** The live stage list: finished stages with their time, the current one with a running clock, the rest to come. */
import type { Stage, StageTiming } from '../../../../native-helper/src/api/rpc.js';
import { Icon } from '../../components/Icon.js';
import { formatMs, STAGE_LABELS } from '../../lib/format.js';

export interface StageTimelineProps {
  readonly order: readonly Stage[];
  readonly finished: readonly StageTiming[];
  /** the stage in progress and how long it has been running */
  readonly current?: { readonly stage: Stage; readonly elapsedMs: number };
  /** the stage an attempt failed in */
  readonly failedAt?: Stage;
}

export function StageTimeline({ order, finished, current, failedAt }: StageTimelineProps) {
  const done = new Map(finished.map((f) => [f.stage as Stage, f.ms]));
  return (
    <ol className="timeline" aria-label="Connection progress">
      {order.map((stage) => {
        const ms = done.get(stage);
        const isCurrent = current?.stage === stage;
        const failed = failedAt === stage;
        const status = failed ? 'failed' : ms !== undefined ? 'done' : isCurrent ? 'current' : stage === 'connected' && failedAt === undefined && current === undefined && finished.length > 0 ? 'done' : 'pending';
        return (
          <li key={stage} className={`timeline-step ${status}`} aria-current={isCurrent ? 'step' : undefined}>
            <span className="timeline-dot" aria-hidden="true">
              {status === 'done' ? <Icon name="check" size={14} /> : status === 'failed' ? '!' : ''}
            </span>
            <span className="timeline-label">{STAGE_LABELS[stage]}</span>
            <span className="timeline-time">
              {ms !== undefined ? formatMs(ms) : isCurrent ? `${formatMs(current.elapsedMs)}…` : failed ? 'failed' : ''}
            </span>
          </li>
        );
      })}
    </ol>
  );
}
