import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { table as tableShape } from '#shared/config/resources.ts';

/**
 * The single table: connections, budget items, leases and job records, keyed pk/sk (resources.ts).
 * On-demand (traffic follows the integrations, idle most of the night), point-in-time recovery,
 * TTL on `ttl` so stale budget items and job records expire, and retained on stack deletion because
 * it holds the operators' connection settings and API token hashes.
 *
 * Encrypted with the AWS managed key (aws/dynamodb): no key to pay for or rotate, every use is in
 * CloudTrail, and the functions need no KMS permission. A customer managed key would add $1/month and
 * KMS policy to maintain for no gain here: nothing in the table is a credential (secrets live in
 * Secrets Manager, tokens are stored hashed).
 */
export class Tables extends Construct {
  public readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: tableShape.partitionKey, type: AttributeType.STRING },
      sortKey: { name: tableShape.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: tableShape.ttlAttribute,
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: true,
    });
  }
}
