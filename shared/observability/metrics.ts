/**
 * CloudWatch metrics through the Embedded Metric Format: a log line that CloudWatch turns into
 * metrics, so no PutMetricData call (and no IAM `Resource: "*"`) is needed. Each metric is emitted
 * twice: without dimensions (stack-wide totals the alarms use) and per ConnectionId.
 */
export const METRIC_NAMESPACE = 'AutotaskGovernor';

export type MetricName =
  | 'CallsMade'
  | 'OtherCalls'
  | 'JobsThrottled'
  | 'JobsSucceeded'
  | 'JobsFailed'
  | 'JobsDeadLettered'
  | 'BudgetLeft'
  | 'Throttled429'
  | 'ThreadLimited'
  | 'ConnectionsAsleep';

type Unit = 'Count' | 'Milliseconds' | 'None';

let sink: (line: string) => void = (line) => process.stdout.write(`${line}\n`);
let enabled = process.env.METRICS_DISABLED !== 'true';

export const configureMetrics = (options: { enabled?: boolean; sink?: (line: string) => void }): void => {
  if (options.enabled !== undefined) enabled = options.enabled;
  if (options.sink) sink = options.sink;
};

export const emitMetric = (
  name: MetricName,
  value: number,
  connectionId?: string,
  unit: Unit = 'Count',
): void => {
  if (!enabled) return;
  const dimensionSets: string[][] = connectionId ? [[], ['ConnectionId']] : [[]];
  const line: Record<string, unknown> = {
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        { Namespace: METRIC_NAMESPACE, Dimensions: dimensionSets, Metrics: [{ Name: name, Unit: unit }] },
      ],
    },
    [name]: value,
  };
  if (connectionId) line.ConnectionId = connectionId;
  sink(JSON.stringify(line));
};
