# CloudWatch: an anomaly detection alarm (ThresholdMetricId on ANOMALY_DETECTION_BAND),
# a plain metric alarm, a composite alarm, a dashboard and a Contributor Insights rule.

resource "aws_cloudwatch_log_group" "access" {
  name = "/tf/cw/access"
}

resource "aws_cloudwatch_metric_alarm" "latency_anomaly" {
  alarm_name          = "tf-latency-anomaly"
  comparison_operator = "LessThanLowerOrGreaterThanUpperThreshold"
  evaluation_periods  = 2
  threshold_metric_id = "e1"
  alarm_description   = "latency outside its expected band"
  treat_missing_data  = "notBreaching"

  metric_query {
    id          = "e1"
    expression  = "ANOMALY_DETECTION_BAND(m1, 2)"
    label       = "Latency (expected)"
    return_data = true
  }

  metric_query {
    id          = "m1"
    return_data = true
    metric {
      metric_name = "Latency"
      namespace   = "TF/App"
      period      = 60
      stat        = "Average"
      dimensions  = { Api = "orders" }
    }
  }

  tags = { team = "tf" }
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "tf-errors"
  comparison_operator = "GreaterThanOrEqualToThreshold"
  evaluation_periods  = 1
  metric_name         = "Errors"
  namespace           = "TF/App"
  period              = 60
  statistic           = "Sum"
  threshold           = 1
}

resource "aws_cloudwatch_composite_alarm" "either" {
  alarm_name = "tf-either"
  alarm_rule = "ALARM(${aws_cloudwatch_metric_alarm.errors.alarm_name}) OR ALARM(${aws_cloudwatch_metric_alarm.latency_anomaly.alarm_name})"
}

resource "aws_cloudwatch_dashboard" "main" {
  dashboard_name = "tf-main"
  dashboard_body = jsonencode({
    widgets = [{
      type   = "metric"
      x      = 0
      y      = 0
      width  = 12
      height = 6
      properties = {
        metrics = [["TF/App", "Latency", "Api", "orders"]]
        period  = 60
        stat    = "Average"
        region  = "us-east-1"
        title   = "Latency"
      }
    }]
  })
}

resource "aws_cloudwatch_contributor_insight_rule" "top_ips" {
  rule_name  = "tf-top-ips"
  rule_state = "ENABLED"
  rule_definition = jsonencode({
    Schema        = { Name = "CloudWatchLogRule", Version = 1 }
    LogGroupNames = [aws_cloudwatch_log_group.access.name]
    LogFormat     = "JSON"
    Contribution  = { Keys = ["$.ip"], Filters = [] }
    AggregateOn   = "Count"
  })
}
