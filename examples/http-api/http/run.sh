#!/usr/bin/env bash
# The serverless HTTP API, HTTP API (v2) half: `POST /items` and `GET /items/{id}` routed to
# two functions (items.js) that keep items in an S3 bucket, a `prod` stage that deploys
# itself, then curl at both invoke URL forms:
#   host  http://<api-id>.execute-api.localhost:4566/prod/items
#   path  http://127.0.0.1:4566/restapis/<api-id>/prod/_user_request_/items
#
# Needs a running Stratus (`npx stratus`), the AWS CLI v2, curl and node.
#
#   examples/http-api/http/run.sh [endpoint]      (default http://127.0.0.1:4566)
set -euo pipefail
ENDPOINT=${1:-http://127.0.0.1:4566}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} AWS_PAGER=''
AWS="${AWS_CLI:-aws} --endpoint-url $ENDPOINT --output text"
HERE=$(cd "$(dirname "$0")" && pwd)
SUFFIX=$(date +%s%N | tail -c 9)
ACCOUNT=$($AWS sts get-caller-identity --query Account)
REGION=$AWS_DEFAULT_REGION
PORT=${ENDPOINT##*:}
WORK=$(mktemp -d /tmp/http-api-XXXX)
trap 'rm -rf "$WORK"' EXIT

BUCKET="items-$SUFFIX"
$AWS s3api create-bucket --bucket "$BUCKET" > /dev/null
ROLE=$($AWS iam create-role --role-name "items-$SUFFIX" --query Role.Arn \
  --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}')
node "$HERE/../../zip.cjs" "$HERE/items.js" index.js "$WORK/items.zip"

API=$($AWS apigatewayv2 create-api --name "items-$SUFFIX" --protocol-type HTTP --query ApiId)
for op in create get; do
  FN=$($AWS lambda create-function --function-name "items-$op-$SUFFIX" --runtime nodejs20.x \
    --handler "index.$op" --role "$ROLE" --zip-file "fileb://$WORK/items.zip" \
    --environment "Variables={ITEMS_BUCKET=$BUCKET}" --query FunctionArn)
  $AWS lambda wait function-active-v2 --function-name "$FN"
  # API Gateway may invoke the function only when its policy says so, as on AWS.
  $AWS lambda add-permission --function-name "$FN" --statement-id apigateway \
    --action lambda:InvokeFunction --principal apigateway.amazonaws.com \
    --source-arn "arn:aws:execute-api:$REGION:$ACCOUNT:$API/*" > /dev/null
  INTEGRATION=$($AWS apigatewayv2 create-integration --api-id "$API" --integration-type AWS_PROXY \
    --integration-uri "$FN" --payload-format-version 2.0 --query IntegrationId)
  case $op in create) KEY='POST /items' ;; get) KEY='GET /items/{id}' ;; esac
  $AWS apigatewayv2 create-route --api-id "$API" --route-key "$KEY" \
    --target "integrations/$INTEGRATION" > /dev/null
done
$AWS apigatewayv2 create-stage --api-id "$API" --stage-name prod --auto-deploy > /dev/null
echo "api: $API  invoke URL: $($AWS apigatewayv2 get-api --api-id "$API" --query ApiEndpoint)/prod"

HOST_URL="http://$API.execute-api.localhost:$PORT/prod"
PATH_URL="$ENDPOINT/restapis/$API/prod/_user_request_"
created=$(curl -sS --fail-with-body -X POST "$HOST_URL/items" \
  -H 'content-type: application/json' -d '{"name":"widget","price":3}')
echo "POST $HOST_URL/items -> $created"
ID=$(node -e 'console.log(JSON.parse(process.argv[1]).id)' "$created")
got=$(curl -sS --fail-with-body "$PATH_URL/items/$ID")
echo "GET  $PATH_URL/items/$ID -> $got"
[ "$(node -e 'console.log(JSON.parse(process.argv[1]).name)' "$got")" = widget ]
status=$(curl -sS -o /dev/null -w '%{http_code}' "$HOST_URL/items/no-such-item")
echo "GET  $HOST_URL/items/no-such-item -> $status"
[ "$status" = 404 ]
