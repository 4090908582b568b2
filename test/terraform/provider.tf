terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}

variable "endpoint" { type = string }

# Every service Stratus implements, on its one endpoint. The account id comes from STS
# (GetCallerIdentity), as against AWS: resources keyed by account need it.
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    cloudwatch     = var.endpoint
    cloudwatchlogs = var.endpoint
    dynamodb       = var.endpoint
    ecr            = var.endpoint
    iam            = var.endpoint
    lambda         = var.endpoint
    sts            = var.endpoint
  }
}
