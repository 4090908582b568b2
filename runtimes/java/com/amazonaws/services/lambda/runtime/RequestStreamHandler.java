package com.amazonaws.services.lambda.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/** aws-lambda-java-core's stream handler: the raw event in, the raw answer out. */
public interface RequestStreamHandler {
  void handleRequest(InputStream input, OutputStream output, Context context) throws IOException;
}
