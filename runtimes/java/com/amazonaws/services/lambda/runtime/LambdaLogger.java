package com.amazonaws.services.lambda.runtime;

/** aws-lambda-java-core's logger: lines go to the function's log. */
public interface LambdaLogger {
  void log(String message);

  void log(byte[] message);
}
