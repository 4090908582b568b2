"""
Stratus's Python runtime for Lambda (python3.9 ... python3.13 on the host's python3).

Speaks the Lambda Runtime API (AWS_LAMBDA_RUNTIME_API) and behaves like AWS's own runtime
(awslambdaric): `module.function` handlers from LAMBDA_TASK_ROOT, the context object,
`[LEVEL]\t<time>\t<requestId>\t<message>` logging lines, errors as
{errorMessage, errorType, requestId, stackTrace} and `Runtime.*` init errors.

Standard library only, and only the cheap parts of it before the handler is imported: the
HTTP client is a small keep-alive one over a socket (http.client alone costs tens of ms
to import). The runtime exits when the Runtime API goes away, so an orphaned runtime never
outlives Stratus.

Pre-started mode (STRATUS_PRESTART=1): the interpreter starts, then long-polls
GET /stratus/v1/assignment for the function it will serve (its environment and task root)
and only then imports the handler, so a cold start skips interpreter start-up.
"""

import _socket  # the C module: socket.py (selectors, enums) costs ~10 ms at start-up
import importlib
import json
import os
import sys
import time

# The directory of this file is not the function's: user modules must not be shadowed.
if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

ERROR_LOG_LINE_TERMINATE = "\r"
ERROR_LOG_IDENT = "\u00a0"  # NO-BREAK SPACE, as AWS's runtime indents tracebacks


class RuntimeApiClient(object):
    """A minimal HTTP/1.1 client for the Runtime API: one persistent connection,
    Content-Length bodies (which is what Stratus's Runtime API always sends)."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.host = host
        self.addr = (host, int(port))
        self.sock = None
        self.buf = b""

    def _socket(self):
        if self.sock is None:
            sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
            try:
                sock.connect(self.addr)
            except OSError as e:
                sock.close()
                api_gone(e)
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            self.sock = sock
            self.buf = b""
        return self.sock

    def _head(self, method, path, body, headers):
        head = "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n" % (
            method,
            path,
            self.host,
            len(body),
        )
        if headers:
            for k, v in headers.items():
                head += "%s: %s\r\n" % (k, v)
        return head.encode("latin-1") + b"\r\n" + body

    def request(self, method, path, body=b"", headers=None):
        return self.pipeline([(method, path, body, headers)])[-1]

    def pipeline(self, requests):
        """Sends the requests in one write and reads their responses in order."""
        data = b"".join(self._head(*r) for r in requests)
        for attempt in (0, 1):
            sock = self._socket()
            try:
                sock.sendall(data)
                return [self._read_response() for _ in requests]
            except OSError as e:
                # A keep-alive connection the server closed: reconnect once.
                self.sock = None
                if attempt == 1:
                    api_gone(e)

    def _recv(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("Runtime API closed the connection")
        self.buf += chunk

    def _read_response(self):
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            self._recv()
        lines = self.buf[:end].decode("latin-1").split("\r\n")
        self.buf = self.buf[end + 4 :]
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            self._recv()
        body = self.buf[:length]
        self.buf = self.buf[length:]
        if headers.get("connection", "").lower() == "close":
            self.sock.close()
            self.sock = None
        return status, headers, body

    NEXT = ("GET", "/2018-06-01/runtime/invocation/next", b"", None)

    def next(self, answer=None):
        """GET /next; an answer to the previous invocation goes out in the same write
        (pipelined: the 202 is read, but not waited for before asking for more work)."""
        if answer is None:
            return self.request(*self.NEXT)
        answered, nxt = self.pipeline([answer, self.NEXT])
        if answered[0] >= 400:
            sys.stderr.write(
                "Stratus runtime: answer refused: %d %s\n"
                % (answered[0], answered[2].decode("utf-8", "replace"))
            )
        return nxt

    @staticmethod
    def result_request(invoke_id, body, content_type="application/json"):
        return (
            "POST",
            "/2018-06-01/runtime/invocation/%s/response" % invoke_id,
            body,
            {"Content-Type": content_type},
        )

    @staticmethod
    def error_request(invoke_id, error_result):
        return (
            "POST",
            "/2018-06-01/runtime/invocation/%s/error" % invoke_id,
            to_json(error_result).encode("utf-8"),
            {
                "Content-Type": "application/json",
                "Lambda-Runtime-Function-Error-Type": header_safe(error_result["errorType"]),
            },
        )

    def post_init_error(self, error_result):
        return self.request(
            "POST",
            "/2018-06-01/runtime/init/error",
            to_json(error_result).encode("utf-8"),
            {
                "Content-Type": "application/json",
                "Lambda-Runtime-Function-Error-Type": header_safe(error_result["errorType"]),
            },
        )


def api_gone(err):
    sys.stderr.write("Stratus runtime: Runtime API unreachable (%s), exiting\n" % err)
    sys.stderr.flush()
    os._exit(1)


def header_safe(value):
    return "".join(c for c in str(value) if " " <= c <= "~")


class FaultException(Exception):
    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

    def __init__(self, exception_type, msg, trace=None):
        self.msg = msg
        self.exception_type = exception_type
        self.trace = trace


# ------------------------------------------------------------------------------------
# JSON, as AWS's marshaller does it (Decimal allowed)


def _decimal_default(o):
    if type(o).__name__ == "Decimal":
        import decimal

        if isinstance(o, decimal.Decimal):
            return float(o)
    raise TypeError("Object of type %s is not JSON serializable" % o.__class__.__name__)


def to_json(obj):
    return json.dumps(obj, default=_decimal_default)


def marshal_response(response):
    try:
        return to_json(response).encode("utf-8")
    except Exception as e:
        raise FaultException(
            FaultException.MARSHAL_ERROR, "Unable to marshal response: %s" % str(e), None
        )


def unmarshal_request(body):
    try:
        return json.loads(body)
    except Exception as e:
        raise FaultException(
            FaultException.UNMARSHAL_ERROR, "Unable to unmarshal input: %s" % str(e), None
        )


# ------------------------------------------------------------------------------------
# Handler loading


def get_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(
            FaultException.MALFORMED_HANDLER_NAME, "Bad handler '%s': %s" % (handler, str(e))
        )
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                FaultException.BUILT_IN_MODULE_CONFLICT,
                "Cannot use built-in module %s as a handler module" % modname,
            )
        m = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException(
            FaultException.IMPORT_MODULE_ERROR,
            "Unable to import module '%s': %s" % (modname, str(e)),
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(
            FaultException.USER_CODE_SYNTAX_ERROR,
            "Syntax error in module '%s': %s" % (modname, str(e)),
            trace,
        )
    try:
        return getattr(m, fname)
    except AttributeError:
        raise FaultException(
            FaultException.HANDLER_NOT_FOUND,
            "Handler '%s' missing on module '%s'" % (fname, modname),
            None,
        )


# ------------------------------------------------------------------------------------
# Errors


def make_error(error_message, error_type, stack_trace, invoke_id=None):
    return {
        "errorMessage": error_message if error_message else "",
        "errorType": error_type if error_type else "",
        "requestId": invoke_id if invoke_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def user_traceback(tb):
    import traceback

    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i in range(len(frames)):
        if not frames[i][0].endswith("/bootstrap.py"):
            return traceback.format_list(frames[i:])
    return traceback.format_list(frames)


def build_fault_result(exc_info, invoke_id=None):
    etype, value, tb = exc_info
    return make_error(str(value), etype.__name__, user_traceback(tb), invoke_id)


def _replace_indentation(line):
    n = len(line) - len(line.lstrip(" "))
    return ERROR_LOG_IDENT * n + line[n:]


def log_error(error_result):
    if LOG_FORMAT_JSON:
        entry = {"timestamp": iso_now(), "level": "ERROR"}
        entry.update(error_result)
        write_line(to_json(entry))
        return
    description = "[ERROR]"
    if error_result.get("errorType"):
        description += " " + error_result["errorType"]
    if error_result.get("errorMessage"):
        if error_result.get("errorType"):
            description += ":"
        description += " " + error_result["errorMessage"]
    lines = [description]
    stack = error_result.get("stackTrace")
    if stack is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack:
            if element == "":
                lines.append("")
            else:
                lines.extend(_replace_indentation(t) for t in element.splitlines())
    write_line(ERROR_LOG_LINE_TERMINATE.join(lines))


# ------------------------------------------------------------------------------------
# Logging: print() goes straight to stdout; the logging module gets AWS's line format.

LOG_FORMAT_JSON = False
_request_id = None


def iso_now():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


def write_line(text):
    sys.stdout.write(text.replace("\n", "\r") + "\n")
    sys.stdout.flush()


def setup_logging():
    import logging

    logging.Formatter.converter = time.gmtime

    class LambdaLoggerFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _request_id or ""
            return True

    class LambdaLoggerHandler(logging.Handler):
        def emit(self, record):
            write_line(self.format(record).rstrip("\n"))

    class JsonFormatter(logging.Formatter):
        def format(self, record):
            entry = {
                "timestamp": time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)
                ),
                "level": record.levelname,
                "message": record.getMessage(),
                "logger": record.name,
                "requestId": record.aws_request_id,
            }
            if record.exc_info:
                entry["errorType"] = record.exc_info[0].__name__
                entry["errorMessage"] = str(record.exc_info[1])
            return json.dumps(entry, default=str)

    handler = LambdaLoggerHandler()
    if LOG_FORMAT_JSON:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
                "%Y-%m-%dT%H:%M:%S",
            )
        )
    handler.addFilter(LambdaLoggerFilter())
    logger = logging.getLogger()
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging._nameToLevel:
        logger.setLevel(level)
    logger.addHandler(handler)


class ConfigureLoggingOnImport(object):
    """A meta path finder that configures the logging module the moment anything imports
    it. The import costs ~9 ms of a cold start (re, traceback, threading, ...) that a
    handler which never logs need not pay; one that does finds the root logger configured
    before its own code runs, as on AWS, where the runtime configures it before importing
    the handler (so basicConfig() stays a no-op there and here)."""

    def find_spec(self, name, path=None, target=None):
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(name, path)
        loader = spec.loader if spec is not None else None
        if loader is None or isinstance(loader, type) or not hasattr(loader, "exec_module"):
            return spec

        def exec_module(module):
            del loader.exec_module  # the loader's own method again, should logging be reloaded
            loader.exec_module(module)
            setup_logging()

        loader.exec_module = exec_module
        return spec


# ------------------------------------------------------------------------------------
# The context object (the same attributes as AWS's LambdaContext)


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]


class Client(object):
    __slots__ = [
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    ]


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]


def make_obj_from_dict(cls, d):
    if d is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, d.get(field, None))
    return obj


class LambdaContext(object):
    def __init__(self, invoke_id, client_context, cognito_identity, deadline_ms, arn):
        env = os.environ
        self.aws_request_id = invoke_id
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = arn
        self.client_context = make_obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = make_obj_from_dict(Client, self.client_context.client)
        self.identity = make_obj_from_dict(CognitoIdentity, {})
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get(
                "cognitoIdentityPoolId"
            )
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        remaining = self._deadline_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))
        sys.stdout.flush()

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,"
            "function_name=%s,memory_limit_in_mb=%s,function_version=%s,"
            "invoked_function_arn=%s,client_context=%s,identity=%s])"
            % (
                self.aws_request_id,
                self.log_group_name,
                self.log_stream_name,
                self.function_name,
                self.memory_limit_in_mb,
                self.function_version,
                self.invoked_function_arn,
                self.client_context,
                self.identity,
            )
        )


def parse_json_header(value, name):
    try:
        return json.loads(value)
    except Exception as e:
        raise FaultException(
            FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR,
            "Unable to parse %s JSON: %s" % (name, str(e)),
            None,
        )


# ------------------------------------------------------------------------------------
# The invoke loop


def handle_event(client, request_handler, headers, body):
    invoke_id = headers.get("lambda-runtime-aws-request-id")
    error_result = None
    try:
        client_context = headers.get("lambda-runtime-client-context")
        cognito = headers.get("lambda-runtime-cognito-identity")
        context = LambdaContext(
            invoke_id,
            parse_json_header(client_context, "Client Context") if client_context else None,
            parse_json_header(cognito, "Cognito Identity") if cognito else None,
            int(headers.get("lambda-runtime-deadline-ms", "0")),
            headers.get("lambda-runtime-invoked-function-arn"),
        )
        event = unmarshal_request(body)
        response = request_handler(event, context)
        result = marshal_response(response)
    except FaultException as e:
        error_result = make_error(e.msg, e.exception_type, e.trace, invoke_id)
    except Exception:
        error_result = build_fault_result(sys.exc_info(), invoke_id)

    sys.stdout.flush()
    sys.stderr.flush()
    if error_result is not None:
        log_error(error_result)
        return client.error_request(invoke_id, error_result)
    return client.result_request(invoke_id, result)


def await_assignment(client):
    """Pre-started mode: adopt the environment and task root of the assigned function."""
    _, _, body = client.request("GET", "/stratus/v1/assignment")
    assignment = json.loads(body)
    os.environ.clear()
    os.environ.update(assignment["env"])
    os.chdir(assignment["cwd"])
    time.tzset()  # the function may set TZ
    # PYTHONPATH is read once at start-up: apply the function's entries now.
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(":") if p]
    sys.path[0:0] = [p for p in extra if p not in sys.path]


def main():
    global _request_id, LOG_FORMAT_JSON
    client = RuntimeApiClient(os.environ.get("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"))
    if os.environ.get("STRATUS_PRESTART") == "1":
        import logging  # noqa: F401 -- imported while waiting: the import is what costs

        await_assignment(client)
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    if task_root not in sys.path:
        sys.path.insert(0, task_root)

    LOG_FORMAT_JSON = os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"
    if "logging" in sys.modules:
        setup_logging()
    else:
        sys.meta_path.insert(0, ConfigureLoggingOnImport())
    try:
        request_handler = get_handler(os.environ.get("_HANDLER", ""))
    except FaultException as e:
        error_result = make_error(e.msg, e.exception_type, e.trace)
        log_error(error_result)
        client.post_init_error(error_result)
        sys.exit(1)
    except Exception:
        error_result = build_fault_result(sys.exc_info())
        log_error(error_result)
        client.post_init_error(error_result)
        sys.exit(1)

    answer = None
    while True:
        status, headers, body = client.next(answer)
        if status != 200:
            # "Container error. Non-recoverable state. Runtime should exit promptly."
            sys.stderr.write("Stratus runtime: /next answered %d\n" % status)
            sys.exit(1)
        _request_id = headers.get("lambda-runtime-aws-request-id")
        trace = headers.get("lambda-runtime-trace-id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        answer = handle_event(client, request_handler, headers, body)


if __name__ == "__main__":
    main()
