locals {
  ec2_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  read_logs = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["logs:DescribeLogGroups", "logs:GetLogEvents"]
      Resource = "*"
    }]
  })
}

resource "aws_iam_role" "app" {
  name                 = "tf-app"
  path                 = "/tf/"
  description          = "the app's role"
  assume_role_policy   = local.ec2_trust
  max_session_duration = 7200
  tags                 = { team = "tf" }
}

resource "aws_iam_role_policy" "inline" {
  name   = "tf-inline"
  role   = aws_iam_role.app.id
  policy = local.read_logs
}

resource "aws_iam_policy" "managed" {
  name        = "tf-managed"
  path        = "/tf/"
  description = "read logs"
  policy      = local.read_logs
  tags        = { team = "tf" }
}

resource "aws_iam_role_policy_attachment" "managed" {
  role       = aws_iam_role.app.name
  policy_arn = aws_iam_policy.managed.arn
}

resource "aws_iam_instance_profile" "app" {
  name = "tf-app-profile"
  path = "/tf/"
  role = aws_iam_role.app.name
  tags = { team = "tf" }
}

resource "aws_iam_user" "dev" {
  name = "tf-dev"
  path = "/tf/"
  tags = { team = "tf" }
}

resource "aws_iam_user_policy" "inline" {
  name   = "tf-user-inline"
  user   = aws_iam_user.dev.name
  policy = local.read_logs
}

resource "aws_iam_user_policy_attachment" "managed" {
  user       = aws_iam_user.dev.name
  policy_arn = aws_iam_policy.managed.arn
}

resource "aws_iam_access_key" "dev" {
  user = aws_iam_user.dev.name
}

resource "aws_iam_group" "devs" {
  name = "tf-devs"
  path = "/tf/"
}

resource "aws_iam_group_policy" "inline" {
  name   = "tf-group-inline"
  group  = aws_iam_group.devs.name
  policy = local.read_logs
}

resource "aws_iam_group_policy_attachment" "managed" {
  group      = aws_iam_group.devs.name
  policy_arn = aws_iam_policy.managed.arn
}

resource "aws_iam_user" "ops" {
  name = "tf-ops"
}

resource "aws_iam_group_membership" "devs" {
  name  = "tf-devs-membership"
  group = aws_iam_group.devs.name
  users = [aws_iam_user.dev.name]
}

resource "aws_iam_group" "ops" {
  name = "tf-ops"
}

resource "aws_iam_user_group_membership" "ops" {
  user   = aws_iam_user.ops.name
  groups = [aws_iam_group.ops.name]
}

resource "aws_iam_policy_attachment" "exclusive" {
  name       = "tf-exclusive"
  users      = [aws_iam_user.ops.name]
  policy_arn = aws_iam_policy.other.arn
}

resource "aws_iam_policy" "other" {
  name_prefix = "tf-other-"
  policy      = local.read_logs
}

resource "aws_iam_role_policies_exclusive" "app" {
  role_name    = aws_iam_role.app.name
  policy_names = [aws_iam_role_policy.inline.name]
}

resource "aws_iam_role_policy_attachments_exclusive" "app" {
  role_name   = aws_iam_role.app.name
  policy_arns = [aws_iam_role_policy_attachment.managed.policy_arn]
}

resource "aws_iam_user_policies_exclusive" "dev" {
  user_name    = aws_iam_user.dev.name
  policy_names = [aws_iam_user_policy.inline.name]
}

resource "aws_iam_user_policy_attachments_exclusive" "dev" {
  user_name   = aws_iam_user.dev.name
  policy_arns = [aws_iam_user_policy_attachment.managed.policy_arn]
}

resource "aws_iam_group_policies_exclusive" "devs" {
  group_name   = aws_iam_group.devs.name
  policy_names = [aws_iam_group_policy.inline.name]
}

resource "aws_iam_group_policy_attachments_exclusive" "devs" {
  group_name  = aws_iam_group.devs.name
  policy_arns = [aws_iam_group_policy_attachment.managed.policy_arn]
}

resource "aws_iam_openid_connect_provider" "ci" {
  url             = "https://token.actions.githubusercontent.com"
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1"]
  tags = {
    team = "ci"
  }
}
