package com.amazonaws.services.lambda.runtime;

/** aws-lambda-java-core's typed handler: the event is deserialized from JSON into I. */
public interface RequestHandler<I, O> {
  O handleRequest(I input, Context context);
}
