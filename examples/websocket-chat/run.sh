#!/usr/bin/env bash
# A WebSocket chat: a WebSocket API whose $connect, $disconnect and `sendmessage` routes
# reach one function (chat.js); it keeps connection ids in an S3 bucket and relays each
# message to the other connections with PostToConnection. client.mjs connects two clients,
# sends from one, receives on the other, then posts to a closed connection (GoneException).
#
# Needs a running Stratus (`npx stratus`), the AWS CLI v2 and node.
#
#   examples/websocket-chat/run.sh [endpoint]      (default http://127.0.0.1:4566)
set -euo pipefail
ENDPOINT=${1:-http://127.0.0.1:4566}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} AWS_PAGER=''
AWS="${AWS_CLI:-aws} --endpoint-url $ENDPOINT --output text"
HERE=$(cd "$(dirname "$0")" && pwd)
SUFFIX=$(date +%s%N | tail -c 9)
ACCOUNT=$($AWS sts get-caller-identity --query Account)
REGION=$AWS_DEFAULT_REGION
WORK=$(mktemp -d /tmp/websocket-chat-XXXX)
trap 'rm -rf "$WORK"' EXIT

BUCKET="chat-connections-$SUFFIX"
$AWS s3api create-bucket --bucket "$BUCKET" > /dev/null
ROLE=$($AWS iam create-role --role-name "chat-$SUFFIX" --query Role.Arn \
  --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}')
node "$HERE/../zip.cjs" "$HERE/chat.js" index.js "$WORK/chat.zip"
FN=$($AWS lambda create-function --function-name "chat-$SUFFIX" --runtime nodejs20.x \
  --handler index.handler --role "$ROLE" --zip-file "fileb://$WORK/chat.zip" \
  --environment "Variables={CONNECTIONS_BUCKET=$BUCKET}" --query FunctionArn)
$AWS lambda wait function-active-v2 --function-name "$FN"

API=$($AWS apigatewayv2 create-api --name "chat-$SUFFIX" --protocol-type WEBSOCKET \
  --route-selection-expression '$request.body.action' --query ApiId)
INTEGRATION=$($AWS apigatewayv2 create-integration --api-id "$API" --integration-type AWS_PROXY \
  --integration-uri "arn:aws:apigateway:$REGION:lambda:path/2015-03-31/functions/$FN/invocations" \
  --query IntegrationId)
for key in '$connect' '$disconnect' sendmessage; do
  $AWS apigatewayv2 create-route --api-id "$API" --route-key "$key" \
    --target "integrations/$INTEGRATION" > /dev/null
done
$AWS apigatewayv2 create-stage --api-id "$API" --stage-name prod --auto-deploy > /dev/null
$AWS lambda add-permission --function-name "$FN" --statement-id apigateway \
  --action lambda:InvokeFunction --principal apigateway.amazonaws.com \
  --source-arn "arn:aws:execute-api:$REGION:$ACCOUNT:$API/*" > /dev/null

# ws://<api-id>.execute-api.localhost:<port>/prod on AWS's host form; Node does not resolve
# *.localhost names, so the client takes the path form.
WS_URL="${ENDPOINT/http/ws}/restapis/$API/prod/_user_request_/"
echo "api: $API  ($($AWS apigatewayv2 get-api --api-id "$API" --query ApiEndpoint)/prod)"
node "$HERE/client.mjs" "$WS_URL" "$ENDPOINT"
