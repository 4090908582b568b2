package dev.stratus.lambda;

import java.lang.reflect.Array;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small JSON reader and writer for events and answers: objects become LinkedHashMap,
 * arrays ArrayList, numbers Long or Double. Writing takes maps, collections, arrays,
 * strings, numbers, booleans and plain objects (through their public getters).
 */
final class Json {
  private final String s;
  private int i;

  private Json(String s) {
    this.s = s;
  }

  static Object parse(String text) {
    Json p = new Json(text);
    p.ws();
    if (p.i == p.s.length()) return null;
    Object v = p.value();
    p.ws();
    if (p.i != p.s.length()) throw p.error("trailing characters");
    return v;
  }

  private IllegalArgumentException error(String what) {
    return new IllegalArgumentException("invalid JSON at " + i + ": " + what);
  }

  private void ws() {
    while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
  }

  private Object value() {
    ws();
    if (i >= s.length()) throw error("unexpected end");
    char c = s.charAt(i);
    switch (c) {
      case '{':
        return object();
      case '[':
        return array();
      case '"':
        return string();
      case 't':
        return literal("true", Boolean.TRUE);
      case 'f':
        return literal("false", Boolean.FALSE);
      case 'n':
        return literal("null", null);
      default:
        return number();
    }
  }

  private Object literal(String word, Object v) {
    if (!s.startsWith(word, i)) throw error("unexpected token");
    i += word.length();
    return v;
  }

  private Map<String, Object> object() {
    Map<String, Object> m = new LinkedHashMap<>();
    i++;
    ws();
    if (i < s.length() && s.charAt(i) == '}') {
      i++;
      return m;
    }
    for (; ; ) {
      ws();
      if (i >= s.length() || s.charAt(i) != '"') throw error("expected a key");
      String k = string();
      ws();
      if (i >= s.length() || s.charAt(i++) != ':') throw error("expected ':'");
      m.put(k, value());
      ws();
      if (i >= s.length()) throw error("unexpected end");
      char c = s.charAt(i++);
      if (c == '}') return m;
      if (c != ',') throw error("expected ',' or '}'");
    }
  }

  private List<Object> array() {
    List<Object> l = new ArrayList<>();
    i++;
    ws();
    if (i < s.length() && s.charAt(i) == ']') {
      i++;
      return l;
    }
    for (; ; ) {
      l.add(value());
      ws();
      if (i >= s.length()) throw error("unexpected end");
      char c = s.charAt(i++);
      if (c == ']') return l;
      if (c != ',') throw error("expected ',' or ']'");
    }
  }

  private String string() {
    StringBuilder b = new StringBuilder();
    i++;
    while (i < s.length()) {
      char c = s.charAt(i++);
      if (c == '"') return b.toString();
      if (c != '\\') {
        b.append(c);
        continue;
      }
      if (i >= s.length()) break;
      char e = s.charAt(i++);
      switch (e) {
        case 'n':
          b.append('\n');
          break;
        case 't':
          b.append('\t');
          break;
        case 'r':
          b.append('\r');
          break;
        case 'b':
          b.append('\b');
          break;
        case 'f':
          b.append('\f');
          break;
        case 'u':
          if (i + 4 > s.length()) throw error("bad escape");
          b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
          i += 4;
          break;
        default:
          b.append(e);
      }
    }
    throw error("unterminated string");
  }

  private Object number() {
    int start = i;
    while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
    String n = s.substring(start, i);
    if (n.isEmpty()) throw error("unexpected character");
    if (n.indexOf('.') < 0 && n.indexOf('e') < 0 && n.indexOf('E') < 0) {
      try {
        return Long.parseLong(n);
      } catch (NumberFormatException ignored) {
        // too large for a long
      }
    }
    return Double.parseDouble(n);
  }

  static String write(Object v) {
    StringBuilder b = new StringBuilder();
    write(b, v, 0);
    return b.toString();
  }

  private static void write(StringBuilder b, Object v, int depth) {
    if (depth > 64) throw new IllegalArgumentException("object graph too deep for JSON");
    if (v == null) {
      b.append("null");
    } else if (v instanceof String || v instanceof Character || v instanceof Enum) {
      quote(b, v.toString());
    } else if (v instanceof Boolean) {
      b.append(v);
    } else if (v instanceof Number) {
      double d = ((Number) v).doubleValue();
      if (Double.isNaN(d) || Double.isInfinite(d)) b.append("null");
      else b.append(v);
    } else if (v instanceof Map) {
      b.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
        if (!first) b.append(',');
        first = false;
        quote(b, String.valueOf(e.getKey()));
        b.append(':');
        write(b, e.getValue(), depth + 1);
      }
      b.append('}');
    } else if (v instanceof Collection) {
      b.append('[');
      boolean first = true;
      for (Object o : (Collection<?>) v) {
        if (!first) b.append(',');
        first = false;
        write(b, o, depth + 1);
      }
      b.append(']');
    } else if (v.getClass().isArray()) {
      b.append('[');
      for (int k = 0; k < Array.getLength(v); k++) {
        if (k > 0) b.append(',');
        write(b, Array.get(v, k), depth + 1);
      }
      b.append(']');
    } else {
      write(b, properties(v), depth + 1);
    }
  }

  /** A plain object's public getters (getX / isX) as a map. */
  private static Map<String, Object> properties(Object v) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (Method method : v.getClass().getMethods()) {
      if (Modifier.isStatic(method.getModifiers()) || method.getParameterCount() != 0) continue;
      String n = method.getName();
      String prop;
      if (n.startsWith("get") && n.length() > 3 && !n.equals("getClass")) prop = n.substring(3);
      else if (n.startsWith("is") && n.length() > 2) prop = n.substring(2);
      else continue;
      try {
        m.put(Character.toLowerCase(prop.charAt(0)) + prop.substring(1), method.invoke(v));
      } catch (ReflectiveOperationException e) {
        // not readable: left out
      }
    }
    return m;
  }

  private static void quote(StringBuilder b, String s) {
    b.append('"');
    for (int k = 0; k < s.length(); k++) {
      char c = s.charAt(k);
      switch (c) {
        case '"':
          b.append("\\\"");
          break;
        case '\\':
          b.append("\\\\");
          break;
        case '\n':
          b.append("\\n");
          break;
        case '\r':
          b.append("\\r");
          break;
        case '\t':
          b.append("\\t");
          break;
        default:
          if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
          else b.append(c);
      }
    }
    b.append('"');
  }
}
