package dev.stratus.lambda;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stratus's Java runtime interface client for Lambda (java17 and java21 in their runtime
 * images): speaks the Runtime API (AWS_LAMBDA_RUNTIME_API) and runs handlers as AWS's Java
 * runtime does. Handler strings are `package.Class::method` or `package.Class` (then
 * handleRequest); classes implementing RequestHandler get the event deserialized into their
 * input type (String, Map, List, numbers, booleans, or a plain class with a no-argument
 * constructor and public fields or setters) and their answer serialized as JSON;
 * RequestStreamHandler gets the raw event and writes the raw answer. The classpath is
 * /var/task, /var/task/lib/*.jar and /opt/java/lib/*.jar (the bootstrap sets it).
 * https://docs.aws.amazon.com/lambda/latest/dg/java-handler.html
 */
public final class Runtime {
  private static final String PREFIX = "/2018-06-01/runtime";
  private static final String ERROR_TYPE = "Lambda-Runtime-Function-Error-Type";

  private final HttpClient http =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final String base = "http://" + System.getenv("AWS_LAMBDA_RUNTIME_API") + PREFIX;

  public static void main(String[] args) throws Exception {
    new Runtime().run();
  }

  /** A loaded handler: one call per invocation. */
  private interface Handler {
    byte[] call(byte[] event, Context context) throws Throwable;
  }

  private void run() throws Exception {
    Handler handler;
    try {
      handler = load(System.getenv("_HANDLER"));
    } catch (Throwable t) {
      Throwable cause = unwrap(t);
      String body = errorJson(cause);
      System.out.println(body);
      post("/init/error", body, cause.getClass().getName());
      System.exit(1);
      return;
    }
    for (; ; ) {
      HttpResponse<byte[]> next;
      try {
        next =
            http.send(
                HttpRequest.newBuilder(URI.create(base + "/invocation/next")).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
      } catch (java.io.IOException e) {
        System.err.println("Stratus runtime: Runtime API unreachable (" + e + "), exiting");
        System.exit(1);
        return;
      }
      String id = next.headers().firstValue("Lambda-Runtime-Aws-Request-Id").orElse("");
      next.headers()
          .firstValue("Lambda-Runtime-Trace-Id")
          .ifPresent(v -> System.setProperty("com.amazonaws.xray.traceHeader", v));
      long deadline =
          Long.parseLong(next.headers().firstValue("Lambda-Runtime-Deadline-Ms").orElse("0"));
      String arn = next.headers().firstValue("Lambda-Runtime-Invoked-Function-Arn").orElse("");
      Context context = new InvocationContext(id, arn, deadline);
      try {
        byte[] answer = handler.call(next.body(), context);
        post("/invocation/" + id + "/response", answer, null);
      } catch (Throwable t) {
        Throwable cause = unwrap(t);
        String body = errorJson(cause);
        System.out.println(body);
        post("/invocation/" + id + "/error", body, cause.getClass().getName());
      }
    }
  }

  private static Throwable unwrap(Throwable t) {
    while (t instanceof InvocationTargetException && t.getCause() != null) t = t.getCause();
    if (t instanceof ExceptionInInitializerError && t.getCause() != null) t = t.getCause();
    return t;
  }

  private void post(String path, String body, String errorType) throws Exception {
    post(path, body.getBytes(StandardCharsets.UTF_8), errorType);
  }

  private void post(String path, byte[] body, String errorType) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (errorType != null) b.header(ERROR_TYPE, errorType);
    http.send(b.build(), HttpResponse.BodyHandlers.discarding());
  }

  /** AWS's error shape: errorMessage, errorType, stackTrace (and the cause). */
  private static String errorJson(Throwable t) {
    return Json.write(errorMap(t));
  }

  private static Map<String, Object> errorMap(Throwable t) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("errorMessage", t.getMessage());
    m.put("errorType", t.getClass().getName());
    List<String> trace = new ArrayList<>();
    for (StackTraceElement e : t.getStackTrace()) trace.add(e.toString());
    m.put("stackTrace", trace);
    if (t.getCause() != null && t.getCause() != t) m.put("cause", errorMap(t.getCause()));
    return m;
  }

  private static Handler load(String spec) throws Exception {
    if (spec == null || spec.isEmpty()) throw new ClassNotFoundException("no handler (_HANDLER)");
    String className = spec;
    String methodName = "handleRequest";
    int sep = spec.indexOf("::");
    if (sep >= 0) {
      className = spec.substring(0, sep);
      methodName = spec.substring(sep + 2);
    }
    Class<?> cls;
    try {
      cls = Class.forName(className, true, Runtime.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new ClassNotFoundException("Class not found: " + className, e);
    }
    Object target = cls.getDeclaredConstructor().newInstance();
    if (target instanceof RequestStreamHandler && methodName.equals("handleRequest")) {
      RequestStreamHandler h = (RequestStreamHandler) target;
      return (event, context) -> {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        h.handleRequest(new ByteArrayInputStream(event), out, context);
        return out.toByteArray();
      };
    }
    Method method = findMethod(cls, methodName, target instanceof RequestHandler);
    method.setAccessible(true);
    Class<?>[] params = method.getParameterTypes();
    java.lang.reflect.Type[] generic = method.getGenericParameterTypes();
    return (event, context) -> {
      Object[] values = new Object[params.length];
      if (params.length == 3) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        values[0] = new ByteArrayInputStream(event);
        values[1] = out;
        values[2] = context;
        method.invoke(target, values);
        return out.toByteArray();
      }
      if (params.length >= 1) {
        String text = new String(event, StandardCharsets.UTF_8);
        values[0] = convert(Json.parse(text), params[0], text);
      }
      if (params.length == 2) values[1] = context;
      Object result = method.invoke(target, values);
      if (method.getReturnType() == void.class) return "null".getBytes(StandardCharsets.UTF_8);
      return Json.write(result).getBytes(StandardCharsets.UTF_8);
    };
  }

  /** The handler method: the most specific non-bridge one with that name. */
  private static Method findMethod(Class<?> cls, String name, boolean typed) throws Exception {
    Method found = null;
    for (Method m : cls.getMethods()) {
      if (!m.getName().equals(name) || m.getParameterCount() > 3) continue;
      if (typed && m.isBridge()) continue;
      if (found == null || found.isBridge()) found = m;
    }
    if (found == null) {
      throw new NoSuchMethodException(
          "No public method named " + name + " with appropriate method signature found on class "
              + cls.getName());
    }
    return found;
  }

  /** A parsed JSON value as the handler's input type. */
  private static Object convert(Object v, Class<?> type, String text) throws Exception {
    if (type == Object.class) return v;
    if (type == String.class) return v instanceof String ? v : text;
    if (v == null) return null;
    if (type.isInstance(v)) return v;
    if (v instanceof Number) {
      Number n = (Number) v;
      if (type == int.class || type == Integer.class) return n.intValue();
      if (type == long.class || type == Long.class) return n.longValue();
      if (type == double.class || type == Double.class) return n.doubleValue();
      if (type == float.class || type == Float.class) return n.floatValue();
    }
    if (v instanceof Map && !Map.class.isAssignableFrom(type) && !Collection.class.isAssignableFrom(type)) {
      Object o = type.getDeclaredConstructor().newInstance();
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) setProperty(o, String.valueOf(e.getKey()), e.getValue());
      return o;
    }
    throw new IllegalArgumentException(
        "Stratus's Java runtime cannot deserialize the event into " + type.getName());
  }

  private static void setProperty(Object o, String name, Object value) throws Exception {
    String setter = "set" + Character.toUpperCase(name.charAt(0)) + name.substring(1);
    for (Method m : o.getClass().getMethods()) {
      if (m.getName().equals(setter) && m.getParameterCount() == 1) {
        m.invoke(o, convert(value, m.getParameterTypes()[0], Json.write(value)));
        return;
      }
    }
    try {
      Field f = o.getClass().getField(name);
      if (!Modifier.isStatic(f.getModifiers())) f.set(o, convert(value, f.getType(), Json.write(value)));
    } catch (NoSuchFieldException ignored) {
      // unknown properties are ignored, as AWS's serializer does
    }
  }

  /** The context object. */
  private static final class InvocationContext implements Context {
    private final String requestId;
    private final String arn;
    private final long deadline;

    InvocationContext(String requestId, String arn, long deadline) {
      this.requestId = requestId;
      this.arn = arn;
      this.deadline = deadline;
    }

    public String getAwsRequestId() {
      return requestId;
    }

    public String getLogGroupName() {
      return System.getenv("AWS_LAMBDA_LOG_GROUP_NAME");
    }

    public String getLogStreamName() {
      return System.getenv("AWS_LAMBDA_LOG_STREAM_NAME");
    }

    public String getFunctionName() {
      return System.getenv("AWS_LAMBDA_FUNCTION_NAME");
    }

    public String getFunctionVersion() {
      return System.getenv("AWS_LAMBDA_FUNCTION_VERSION");
    }

    public String getInvokedFunctionArn() {
      return arn;
    }

    public int getRemainingTimeInMillis() {
      return (int) Math.max(0, deadline - System.currentTimeMillis());
    }

    public int getMemoryLimitInMB() {
      return Integer.parseInt(System.getenv().getOrDefault("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "0"));
    }

    public LambdaLogger getLogger() {
      return LOGGER;
    }
  }

  private static final LambdaLogger LOGGER =
      new LambdaLogger() {
        public void log(String message) {
          System.out.println(message);
        }

        public void log(byte[] message) {
          System.out.println(new String(message, StandardCharsets.UTF_8));
        }
      };

  static String stack(Throwable t) {
    StringWriter w = new StringWriter();
    t.printStackTrace(new PrintWriter(w));
    return w.toString();
  }
}
