# The IAM identity resources: console passwords and the password policy, MFA, SAML, the
# account alias, certificates, SSH keys, service-specific credentials, service-linked
# roles and STS preferences. The test writes the certificate, key, SSH key and SAML
# metadata files beside this one before apply.

resource "aws_iam_user" "ops" {
  name = "tf-ops"
  path = "/tf/"
}

resource "aws_iam_account_password_policy" "strict" {
  minimum_password_length        = 12
  require_lowercase_characters   = true
  require_uppercase_characters   = true
  require_numbers                = true
  require_symbols                = true
  allow_users_to_change_password = true
  password_reuse_prevention      = 3
}

resource "aws_iam_user_login_profile" "ops" {
  user                    = aws_iam_user.ops.name
  password_reset_required = true
  depends_on              = [aws_iam_account_password_policy.strict]
}

resource "aws_iam_account_alias" "alias" {
  account_alias = "stratus-tf"
}

resource "aws_iam_virtual_mfa_device" "phone" {
  virtual_mfa_device_name = "tf-phone"
  path                    = "/tf/"
  tags                    = { team = "tf" }
}

resource "aws_iam_saml_provider" "corp" {
  name                   = "tf-corp"
  saml_metadata_document = file("${path.module}/saml-metadata.xml")
  tags                   = { team = "tf" }
}

resource "aws_iam_server_certificate" "web" {
  name             = "tf-web"
  path             = "/tf/"
  certificate_body = file("${path.module}/cert.pem")
  private_key      = file("${path.module}/key.pem")
  tags             = { team = "tf" }
}

resource "aws_iam_signing_certificate" "ops" {
  user_name        = aws_iam_user.ops.name
  certificate_body = file("${path.module}/cert.pem")
}

resource "aws_iam_user_ssh_key" "ops" {
  username   = aws_iam_user.ops.name
  encoding   = "SSH"
  public_key = file("${path.module}/ssh.pub")
}

resource "aws_iam_service_specific_credential" "git" {
  service_name = "codecommit.amazonaws.com"
  user_name    = aws_iam_user.ops.name
}

resource "aws_iam_service_linked_role" "autoscaling" {
  aws_service_name = "autoscaling.amazonaws.com"
  custom_suffix    = "tf"
  description      = "Auto Scaling for tf"
}

resource "aws_iam_security_token_service_preferences" "v2" {
  global_endpoint_token_version = "v2Token"
}
