#!/usr/bin/env bash
# Serverless CRON job: an EventBridge rule `rate(1 hour)` invokes a function that writes a
# report object to S3. Deploys onto Stratus (or AWS: drop --endpoint-url) with the AWS CLI.
#
#   examples/serverless-cron/deploy.sh [endpoint]      (default http://127.0.0.1:4566)
set -euo pipefail
ENDPOINT=${1:-http://127.0.0.1:4566}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} AWS_PAGER=''
AWS="${AWS_CLI:-aws} --endpoint-url $ENDPOINT --output text"
HERE=$(cd "$(dirname "$0")" && pwd)
BUCKET=${REPORT_BUCKET:-cron-reports}

$AWS s3 mb "s3://$BUCKET" > /dev/null
ROLE=$($AWS iam create-role --role-name cron-report --query Role.Arn --assume-role-policy-document \
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}')
ZIP=$(mktemp -d)/function.zip
(cd "$HERE/function" && zip -q "$ZIP" index.js)
FUNCTION=$($AWS lambda create-function --function-name cron-report --runtime nodejs20.x \
  --handler index.handler --role "$ROLE" --zip-file "fileb://$ZIP" \
  --environment "Variables={REPORT_BUCKET=$BUCKET}" --query FunctionArn)
$AWS lambda wait function-active-v2 --function-name cron-report
RULE=$($AWS events put-rule --name hourly-report --schedule-expression 'rate(1 hour)' --query RuleArn)
$AWS lambda add-permission --function-name cron-report --statement-id hourly-report \
  --action lambda:InvokeFunction --principal events.amazonaws.com --source-arn "$RULE" > /dev/null
$AWS events put-targets --rule hourly-report --targets "Id=report,Arn=$FUNCTION" > /dev/null
echo "rule $RULE invokes $FUNCTION every hour; reports go to s3://$BUCKET/reports/"
