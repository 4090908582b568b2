variable "role_arn" { type = string }
variable "function_arn" { type = string }

resource "aws_cloudwatch_log_group" "app" {
  name              = "/tf/app"
  retention_in_days = 7
  log_group_class   = "STANDARD"
  tags              = { team = "tf" }
}

resource "aws_cloudwatch_log_group" "infrequent" {
  name_prefix     = "/tf/ia-"
  log_group_class = "INFREQUENT_ACCESS"
}

resource "aws_cloudwatch_log_stream" "s" {
  name           = "stream-1"
  log_group_name = aws_cloudwatch_log_group.app.name
}

resource "aws_cloudwatch_log_metric_filter" "errors" {
  name           = "errors"
  pattern        = "ERROR"
  log_group_name = aws_cloudwatch_log_group.app.name
  metric_transformation {
    name      = "ErrorCount"
    namespace = "TF/App"
    value     = "1"
    unit      = "Count"
  }
}

resource "aws_cloudwatch_log_subscription_filter" "to_lambda" {
  name            = "to-lambda"
  log_group_name  = aws_cloudwatch_log_group.app.name
  filter_pattern  = "ERROR"
  destination_arn = var.function_arn
}

resource "aws_cloudwatch_log_resource_policy" "rp" {
  policy_name = "tf-rp"
  policy_document = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource  = "arn:aws:logs:us-east-1:000000000000:log-group:/tf/*"
    }]
  })
}

resource "aws_cloudwatch_log_data_protection_policy" "dp" {
  log_group_name = aws_cloudwatch_log_group.app.name
  policy_document = jsonencode({
    Name    = "tf-dp"
    Version = "2021-06-01"
    Statement = [
      {
        Sid            = "Audit"
        DataIdentifier = ["arn:aws:dataprotection::aws:data-identifier/EmailAddress"]
        Operation      = { Audit = { FindingsDestination = {} } }
      },
      {
        Sid            = "Redact"
        DataIdentifier = ["arn:aws:dataprotection::aws:data-identifier/EmailAddress"]
        Operation      = { Deidentify = { MaskConfig = {} } }
      }
    ]
  })
}

resource "aws_cloudwatch_log_index_policy" "idx" {
  log_group_name  = aws_cloudwatch_log_group.app.name
  policy_document = jsonencode({ Fields = ["requestId", "level"] })
}

resource "aws_cloudwatch_log_account_policy" "ap" {
  policy_name = "tf-account-subscription"
  policy_type = "SUBSCRIPTION_FILTER_POLICY"
  policy_document = jsonencode({
    DestinationArn = var.function_arn
    FilterPattern  = "ERROR"
  })
  selection_criteria = "LogGroupName NOT IN [\"/tf/app\"]"
}

resource "aws_cloudwatch_log_destination" "dest" {
  name       = "tf-destination"
  role_arn   = var.role_arn
  target_arn = var.function_arn
}

resource "aws_cloudwatch_log_destination_policy" "dest" {
  destination_name = aws_cloudwatch_log_destination.dest.name
  access_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "111122223333" }
      Action    = "logs:PutSubscriptionFilter"
      Resource  = aws_cloudwatch_log_destination.dest.arn
    }]
  })
}

resource "aws_cloudwatch_log_anomaly_detector" "ad" {
  detector_name           = "tf-detector"
  log_group_arn_list      = [aws_cloudwatch_log_group.app.arn]
  anomaly_visibility_time = 7
  evaluation_frequency    = "FIVE_MIN"
  enabled                 = false
}

resource "aws_cloudwatch_log_group" "vended" {
  name = "/tf/vended"
}

resource "aws_cloudwatch_log_delivery_source" "src" {
  name         = "tf-source"
  log_type     = "APPLICATION_LOGS"
  resource_arn = var.function_arn
}

resource "aws_cloudwatch_log_delivery_destination" "dst" {
  name          = "tf-destination"
  output_format = "json"
  delivery_destination_configuration {
    destination_resource_arn = aws_cloudwatch_log_group.vended.arn
  }
}

resource "aws_cloudwatch_log_delivery_destination_policy" "dstp" {
  delivery_destination_name = aws_cloudwatch_log_delivery_destination.dst.name
  delivery_destination_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AllowDelivery"
      Effect    = "Allow"
      Principal = { AWS = "000000000000" }
      Action    = "logs:CreateDelivery"
      Resource  = aws_cloudwatch_log_delivery_destination.dst.arn
    }]
  })
}

resource "aws_cloudwatch_log_delivery" "d" {
  delivery_source_name     = aws_cloudwatch_log_delivery_source.src.name
  delivery_destination_arn = aws_cloudwatch_log_delivery_destination.dst.arn
}

resource "aws_cloudwatch_query_definition" "q" {
  name            = "tf/errors-by-minute"
  log_group_names = [aws_cloudwatch_log_group.app.name]
  query_string    = <<-EOT
    filter @message like /ERROR/
    | stats count(*) by bin(1m)
  EOT
}
