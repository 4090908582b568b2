resource "aws_ecr_repository" "app" {
  name                 = "tf/app"
  image_tag_mutability = "IMMUTABLE"
  force_delete         = true
  image_scanning_configuration {
    scan_on_push = true
  }
  tags = { team = "tf" }
}

resource "aws_ecr_repository_policy" "app" {
  repository = aws_ecr_repository.app.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "pull"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::111122223333:root" }
      Action    = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    }]
  })
}

resource "aws_ecr_lifecycle_policy" "app" {
  repository = aws_ecr_repository.app.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "keep 5"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 5 }
      action       = { type = "expire" }
    }]
  })
}

resource "aws_ecr_registry_policy" "reg" {
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "replicate"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::111122223333:root" }
      Action    = ["ecr:ReplicateImage"]
      Resource  = "arn:aws:ecr:us-east-1:000000000000:repository/*"
    }]
  })
}

resource "aws_ecr_registry_scanning_configuration" "scan" {
  scan_type = "BASIC"
  rule {
    scan_frequency = "SCAN_ON_PUSH"
    repository_filter {
      filter      = "tf/*"
      filter_type = "WILDCARD"
    }
  }
}

resource "aws_ecr_replication_configuration" "repl" {
  replication_configuration {
    rule {
      destination {
        region      = "us-west-2"
        registry_id = "000000000000"
      }
      repository_filter {
        filter      = "tf"
        filter_type = "PREFIX_MATCH"
      }
    }
  }
}

resource "aws_ecr_repository_creation_template" "tpl" {
  prefix               = "tf-created"
  description          = "made by terraform"
  image_tag_mutability = "MUTABLE"
  applied_for          = ["PULL_THROUGH_CACHE", "REPLICATION"]
  resource_tags        = { team = "tf" }
  encryption_configuration {
    encryption_type = "AES256"
  }
}

resource "aws_ecr_pull_through_cache_rule" "ptc" {
  ecr_repository_prefix = "tf-ecr-public"
  upstream_registry_url = "public.ecr.aws"
}

resource "aws_ecr_account_setting" "scan_version" {
  name  = "BASIC_SCAN_TYPE_VERSION"
  value = "AWS_NATIVE"
}
