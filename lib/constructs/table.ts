import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import {
  TABLE_ATTRIBUTE_TYPE,
  TABLE_INDEXES,
  TABLE_KEYS,
  TABLE_STREAM_VIEW,
} from '../../functions/store/table-definition';

const attribute = (name: string): dynamodb.Attribute => {
  // The table definition declares every key attribute a string; fail loudly if that ever changes.
  if (TABLE_ATTRIBUTE_TYPE !== 'S') throw new Error(`Unsupported key attribute type ${TABLE_ATTRIBUTE_TYPE}`);
  return { name, type: dynamodb.AttributeType.STRING };
};

/** Item reads, including the read half of TransactGetItems / TransactWriteItems condition checks. */
const ITEM_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'];
/** Item writes. TransactWriteItems has no IAM action of its own: each part is authorised as one of these. */
const ITEM_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
];
/** What DynamoDB does with the table key on a caller's behalf (the expansion of CDK's ReEncrypt* / GenerateDataKey*). */
const KEY_READ_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey'];
const KEY_WRITE_ACTIONS = [
  'kms:Encrypt',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
];

export interface GiftCardTableProps {
  /** Customer-managed key encrypting the table (and its stream). */
  readonly encryptionKey: kms.IKey;
}

/**
 * The single table, built from functions/store/table-definition.ts (the same description the local
 * bootstrap uses). Grants are data-plane only and name the table and its indexes explicitly: no Scan,
 * no table administration, no wildcard resources.
 */
export class GiftCardTable extends Construct {
  readonly table: dynamodb.Table;
  readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: GiftCardTableProps) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey;
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: attribute(TABLE_KEYS.partitionKey),
      sortKey: attribute(TABLE_KEYS.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      timeToLiveAttribute: TABLE_KEYS.timeToLiveAttribute,
      stream: dynamodb.StreamViewType[TABLE_STREAM_VIEW],
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      // The ledger is the financial record: the table outlives any stack operation.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of TABLE_INDEXES) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: attribute(index.sortKey),
        projectionType: dynamodb.ProjectionType.KEYS_ONLY,
      });
    }
  }

  get tableName(): string {
    return this.table.tableName;
  }

  /** The ARNs of every index by name (no `index/*` wildcard). */
  private indexArns(): string[] {
    return TABLE_INDEXES.map((index) => `${this.table.tableArn}/index/${index.indexName}`);
  }

  /** Read items and query the indexes. */
  grantReadData(grantee: iam.IGrantable): void {
    this.grant(grantee, ITEM_READ_ACTIONS, KEY_READ_ACTIONS);
  }

  /** Read and write items (including transactions and conditional writes) and query the indexes. */
  grantReadWriteData(grantee: iam.IGrantable): void {
    this.grant(
      grantee,
      [...ITEM_READ_ACTIONS, ...ITEM_WRITE_ACTIONS],
      [...KEY_READ_ACTIONS, ...KEY_WRITE_ACTIONS],
    );
  }

  private grant(grantee: iam.IGrantable, itemActions: string[], keyActions: string[]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: itemActions, resources: [this.table.tableArn] }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: this.indexArns() }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: keyActions,
        resources: [this.encryptionKey.keyArn],
        // The key is usable only through DynamoDB, never directly.
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }
}
