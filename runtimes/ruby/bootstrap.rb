# Stratus's Ruby runtime interface client for Lambda (ruby3.3 in its runtime image).
#
# Speaks the Lambda Runtime API (AWS_LAMBDA_RUNTIME_API) with Net::HTTP and behaves like
# AWS's own Ruby runtime (aws_lambda_ric): `file.method` handlers (and
# `file.Module::Class.method`) loaded from LAMBDA_TASK_ROOT, called as
# `handler(event:, context:)`, the context object, errors as
# {errorMessage, errorType, stackTrace}, `Init<Type>` init errors.
# https://docs.aws.amazon.com/lambda/latest/dg/ruby-handler.html
require 'json'
require 'net/http'
require 'time'

$stdout.sync = true
$stderr.sync = true

module StratusLambda
  API = ENV.fetch('AWS_LAMBDA_RUNTIME_API', '127.0.0.1:9001')
  HOST, PORT = API.split(':')
  PREFIX = '/2018-06-01/runtime'

  # The context object AWS's Ruby runtime hands handlers.
  class LambdaContext
    attr_reader :aws_request_id, :invoked_function_arn, :log_group_name, :log_stream_name,
                :function_name, :memory_limit_in_mb, :function_version, :identity,
                :client_context, :deadline_ms

    def initialize(headers)
      @aws_request_id = headers['lambda-runtime-aws-request-id']
      @invoked_function_arn = headers['lambda-runtime-invoked-function-arn']
      @deadline_ms = headers['lambda-runtime-deadline-ms'].to_i
      @log_group_name = ENV['AWS_LAMBDA_LOG_GROUP_NAME']
      @log_stream_name = ENV['AWS_LAMBDA_LOG_STREAM_NAME']
      @function_name = ENV['AWS_LAMBDA_FUNCTION_NAME']
      @memory_limit_in_mb = ENV['AWS_LAMBDA_FUNCTION_MEMORY_SIZE']
      @function_version = ENV['AWS_LAMBDA_FUNCTION_VERSION']
      cc = headers['lambda-runtime-client-context']
      @client_context = cc && !cc.empty? ? JSON.parse(cc) : nil
      ci = headers['lambda-runtime-cognito-identity']
      @identity = ci && !ci.empty? ? JSON.parse(ci) : nil
    end

    def get_remaining_time_in_millis
      [@deadline_ms - (Time.now.to_f * 1000).to_i, 0].max
    end
  end

  def self.http
    @http ||= begin
      h = Net::HTTP.new(HOST, PORT.to_i)
      h.read_timeout = nil # /next is a long poll
      h.keep_alive_timeout = 3600
      h.start
      h
    end
  rescue StandardError => e
    warn "Stratus runtime: Runtime API unreachable (#{e.message}), exiting"
    exit 1
  end

  def self.post(path, body, headers = {})
    req = Net::HTTP::Post.new(path, { 'Content-Type' => 'application/json' }.merge(headers))
    req.body = body
    http.request(req)
  end

  def self.error_body(err)
    {
      errorMessage: err.message,
      errorType: err.class.name,
      stackTrace: err.backtrace || []
    }
  end

  def self.log_error(body)
    $stdout.puts(JSON.generate(body))
  end

  # `lambda_function.handler` or `lambda_function.Module::Class.method`.
  def self.load_handler(spec)
    file, method_path = spec.split('.', 2)
    raise LoadError, "Bad handler #{spec}: expected file.method" if method_path.nil? || file.empty?
    require File.join(ENV.fetch('LAMBDA_TASK_ROOT', '/var/task'), file)
    if method_path.include?('.')
      klass, _, meth = method_path.rpartition('.')
      target = Object.const_get(klass)
      return ->(event, context) { target.public_send(meth, event: event, context: context) }
    end
    unless Object.private_method_defined?(method_path) || Object.method_defined?(method_path)
      raise NoMethodError, "Handler '#{method_path}' is not defined in #{file}"
    end
    ->(event, context) { send(method_path, event: event, context: context) }
  end

  def self.run
    handler = begin
      load_handler(ENV.fetch('_HANDLER'))
    rescue Exception => e # rubocop:disable Lint/RescueException
      body = error_body(e)
      body[:errorType] = "Init<#{e.class.name}>"
      log_error(body)
      post("#{PREFIX}/init/error", JSON.generate(body),
           'Lambda-Runtime-Function-Error-Type' => body[:errorType])
      exit 1
    end
    loop do
      res = http.request(Net::HTTP::Get.new("#{PREFIX}/invocation/next"))
      headers = res.each_header.to_h
      id = headers['lambda-runtime-aws-request-id']
      trace = headers['lambda-runtime-trace-id']
      ENV['_X_AMZN_TRACE_ID'] = trace if trace
      context = LambdaContext.new(headers)
      begin
        event = JSON.parse(res.body.to_s.empty? ? 'null' : res.body)
        result = handler.call(event, context)
        post("#{PREFIX}/invocation/#{id}/response", JSON.generate(result))
      rescue Exception => e # rubocop:disable Lint/RescueException
        body = error_body(e)
        log_error(body)
        post("#{PREFIX}/invocation/#{id}/error", JSON.generate(body),
             'Lambda-Runtime-Function-Error-Type' => "Function<#{e.class.name}>")
      end
    end
  end
end

StratusLambda.run
