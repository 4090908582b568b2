package com.amazonaws.services.lambda.runtime;

/** The context object of aws-lambda-java-core (the parts Stratus fills in). */
public interface Context {
  String getAwsRequestId();

  String getLogGroupName();

  String getLogStreamName();

  String getFunctionName();

  String getFunctionVersion();

  String getInvokedFunctionArn();

  int getRemainingTimeInMillis();

  int getMemoryLimitInMB();

  LambdaLogger getLogger();
}
