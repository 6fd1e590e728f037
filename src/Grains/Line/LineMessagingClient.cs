using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Stepcast.Grains.Line;

/// <summary>
/// <see cref="ILineMessagingClient"/> over <see cref="HttpClient"/> and source-generated System.Text.Json.
/// Thread-safe; register it as a typed HttpClient (<see cref="LineServiceCollectionExtensions.AddLineMessagingClient"/>).
/// </summary>
public sealed partial class LineMessagingClient : ILineMessagingClient
{
    /// <summary>
    /// The exact message LINE puts in a 429 when the monthly limit is reached. It is the only way to tell quota
    /// exhaustion (wait for next month) from rate limiting (wait a second) — both are 429.
    /// </summary>
    public const string MonthlyLimitMessage = "You have reached your monthly limit.";

    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json") { CharSet = "utf-8" };

    private readonly HttpClient _http;
    private readonly LineClientOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly string _apiBase;
    private readonly LineConnectionGate _gate;

    public LineMessagingClient(
        HttpClient httpClient,
        IOptions<LineClientOptions> options,
        TimeProvider? timeProvider = null,
        ILogger<LineMessagingClient>? logger = null,
        LineConnectionGate? gate = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        _http = httpClient;
        _options = options.Value;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<LineMessagingClient>.Instance;
        _apiBase = _options.ApiBaseUrl.AbsoluteUri.TrimEnd('/');
        _gate = gate ?? new LineConnectionGate(options);
    }

    /// <inheritdoc />
    public async Task<LineSendResult> PushAsync(string channelAccessToken, LinePushRequest request, Guid retryKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = JsonSerializer.SerializeToUtf8Bytes(request, LineJsonContext.Default.LinePushRequest);
        return await SendMessagesAsync("push", "/v2/bot/message/push", channelAccessToken, body, retryKey, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<LineSendResult> MulticastAsync(string channelAccessToken, LineMulticastRequest request, Guid retryKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = JsonSerializer.SerializeToUtf8Bytes(request, LineJsonContext.Default.LineMulticastRequest);
        return await SendMessagesAsync("multicast", "/v2/bot/message/multicast", channelAccessToken, body, retryKey, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<LineSendResult> ReplyAsync(string channelAccessToken, LineReplyRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = JsonSerializer.SerializeToUtf8Bytes(request, LineJsonContext.Default.LineReplyRequest);
        return await SendMessagesAsync("reply", "/v2/bot/message/reply", channelAccessToken, body, retryKey: null, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<LineSendResult> BroadcastAsync(string channelAccessToken, LineBroadcastRequest request, Guid retryKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = JsonSerializer.SerializeToUtf8Bytes(request, LineJsonContext.Default.LineBroadcastRequest);
        return await SendMessagesAsync("broadcast", "/v2/bot/message/broadcast", channelAccessToken, body, retryKey, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<LineSendResult> NarrowcastAsync(string channelAccessToken, LineNarrowcastRequest request, Guid retryKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = JsonSerializer.SerializeToUtf8Bytes(request, LineJsonContext.Default.LineNarrowcastRequest);
        return await SendMessagesAsync("narrowcast", "/v2/bot/message/narrowcast", channelAccessToken, body, retryKey, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<LineQueryResult<LineNarrowcastProgress>> GetNarrowcastProgressAsync(string channelAccessToken, string requestId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        return QueryAsync(
            "narrowcast-progress", HttpMethod.Get,
            "/v2/bot/message/progress/narrowcast?requestId=" + Uri.EscapeDataString(requestId),
            channelAccessToken, body: null, LineJsonContext.Default.LineNarrowcastProgress, cancellationToken);
    }

    /// <inheritdoc />
    public Task<LineQueryResult<LineProfile>> GetProfileAsync(string channelAccessToken, string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return QueryAsync(
            "profile", HttpMethod.Get, "/v2/bot/profile/" + Uri.EscapeDataString(userId),
            channelAccessToken, body: null, LineJsonContext.Default.LineProfile, cancellationToken);
    }

    /// <inheritdoc />
    public Task<LineQueryResult<LineMessageQuota>> GetMessageQuotaAsync(string channelAccessToken, CancellationToken cancellationToken = default) =>
        QueryAsync(
            "quota", HttpMethod.Get, "/v2/bot/message/quota",
            channelAccessToken, body: null, LineJsonContext.Default.LineMessageQuota, cancellationToken);

    /// <inheritdoc />
    public Task<LineQueryResult<LineQuotaConsumption>> GetMessageQuotaConsumptionAsync(string channelAccessToken, CancellationToken cancellationToken = default) =>
        QueryAsync(
            "quota-consumption", HttpMethod.Get, "/v2/bot/message/quota/consumption",
            channelAccessToken, body: null, LineJsonContext.Default.LineQuotaConsumption, cancellationToken);

    /// <inheritdoc />
    public Task<LineQueryResult<LineAudienceGroup>> CreateAudienceGroupAsync(string channelAccessToken, LineCreateAudienceGroupRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var audiences = new LineAudienceUploadBody.Audience[request.UserIds.Count];
        for (var i = 0; i < audiences.Length; i++)
        {
            audiences[i] = new LineAudienceUploadBody.Audience(request.UserIds[i]);
        }

        var wire = new LineAudienceUploadBody(request.Description, IsIfaAudience: false, request.UploadDescription, audiences);
        var body = JsonSerializer.SerializeToUtf8Bytes(wire, LineJsonContext.Default.LineAudienceUploadBody);

        // The JSON upload is served by api.line.me (only the by-file variant lives on api-data.line.me).
        return QueryAsync(
            "audience-upload", HttpMethod.Post, "/v2/bot/audienceGroup/upload",
            channelAccessToken, body, LineJsonContext.Default.LineAudienceGroup, cancellationToken);
    }

    private async Task<LineSendResult> SendMessagesAsync(
        string operation, string path, string channelAccessToken, byte[] body, Guid? retryKey, CancellationToken cancellationToken)
    {
        var (result, responseBody) = await SendAsync(operation, HttpMethod.Post, path, channelAccessToken, body, retryKey, cancellationToken)
            .ConfigureAwait(false);
        if (result.Kind != LineResultKind.Accepted || responseBody.Length == 0)
        {
            return result;
        }

        // Push and reply return the IDs of the sent messages; the others return {}.
        var sent = TryDeserialize(responseBody, LineJsonContext.Default.LineSentMessagesBody)?.SentMessages;
        return sent is { Length: > 0 } ? result with { SentMessages = sent } : result;
    }

    private async Task<LineQueryResult<T>> QueryAsync<T>(
        string operation, HttpMethod method, string pathAndQuery, string channelAccessToken, byte[]? body,
        JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
        where T : class
    {
        var (result, responseBody) = await SendAsync(operation, method, pathAndQuery, channelAccessToken, body, retryKey: null, cancellationToken)
            .ConfigureAwait(false);
        if (result.Kind != LineResultKind.Accepted)
        {
            return new LineQueryResult<T>(result, null);
        }

        var value = TryDeserialize(responseBody, typeInfo);
        if (value is null)
        {
            // A 2xx whose body we cannot read is LINE misbehaving, not a bad request of ours.
            LogUnreadableBody(_logger, operation, result.StatusCode, result.RequestId);
            return new LineQueryResult<T>(result with { Kind = LineResultKind.ServerError, ErrorMessage = "Unreadable response body." }, null);
        }

        return new LineQueryResult<T>(result, value);
    }

    private async Task<(LineSendResult Result, byte[] Body)> SendAsync(
        string operation, HttpMethod method, string pathAndQuery, string channelAccessToken, byte[]? body, Guid? retryKey,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(channelAccessToken);

        using var request = new HttpRequestMessage(method, _apiBase + pathAndQuery);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", channelAccessToken);
        if (retryKey is { } key)
        {
            request.Headers.TryAddWithoutValidation("X-Line-Retry-Key", key.ToString("D"));
        }

        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = JsonContentType;
        }

        // A turn first, within the same allowance: a call that never got one never left this process.
        using (var waited = new CancellationTokenSource(_options.Timeout, _timeProvider))
        using (var waitLinked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, waited.Token))
        {
            if (!await _gate.EnterAsync(waitLinked.Token).ConfigureAwait(false))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var notSent = new LineSendResult { Kind = LineResultKind.NotSent, ErrorMessage = "no connection to LINE came free in time" };
                LogFailure(operation, notSent);
                return (notSent, []);
            }
        }

        // Our own timeout (rather than HttpClient.Timeout alone) lets us tell "LINE is slow" from "the caller gave up".
        using var timeout = new CancellationTokenSource(_options.Timeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, linked.Token).ConfigureAwait(false);
            var responseBody = await response.Content.ReadAsByteArrayAsync(linked.Token).ConfigureAwait(false);
            var result = Classify(response, responseBody, retryKey is not null);
            if (!result.IsSuccess)
            {
                LogFailure(operation, result);
            }

            return (result, responseBody);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Either our timeout or HttpClient.Timeout fired; LINE may still have accepted the request.
            var result = new LineSendResult { Kind = LineResultKind.Timeout };
            LogFailure(operation, result);
            return (result, []);
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException)
        {
            LogNetworkError(_logger, operation, exception.GetType().Name, exception.Message);
            return (new LineSendResult { Kind = LineResultKind.NetworkError, ErrorMessage = exception.Message }, []);
        }
        finally
        {
            _gate.Leave();
        }
    }

    private LineSendResult Classify(HttpResponseMessage response, byte[] body, bool sentRetryKey)
    {
        var status = (int)response.StatusCode;
        var requestId = FirstHeader(response, "x-line-request-id");
        if (status is >= 200 and < 300)
        {
            return new LineSendResult { Kind = LineResultKind.Accepted, StatusCode = status, RequestId = requestId };
        }

        var error = body.Length == 0 ? null : TryDeserialize(body, LineJsonContext.Default.LineErrorBody);
        var kind = status switch
        {
            409 when sentRetryKey => LineResultKind.AlreadyAccepted,
            429 when string.Equals(error?.Message, MonthlyLimitMessage, StringComparison.Ordinal) => LineResultKind.QuotaExceeded,
            429 => LineResultKind.RateLimited,
            >= 500 => LineResultKind.ServerError,
            _ => LineResultKind.Rejected,
        };

        var result = new LineSendResult
        {
            Kind = kind,
            StatusCode = status,
            RequestId = requestId,
            AcceptedRequestId = FirstHeader(response, "x-line-accepted-request-id"),
            RetryAfter = RetryAfter(response),
            ErrorMessage = error?.Message,
        };
        if (error?.Details is { Length: > 0 } details)
        {
            result = result with { ErrorDetails = details };
        }

        if (error?.SentMessages is { Length: > 0 } sent)
        {
            result = result with { SentMessages = sent };
        }

        return result;
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var retryAfter = response.Headers.RetryAfter;
        if (retryAfter?.Delta is { } delta)
        {
            return delta;
        }

        if (retryAfter?.Date is { } date)
        {
            var wait = date - _timeProvider.GetUtcNow();
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    private static string? FirstHeader(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static T? TryDeserialize<T>(byte[] body, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(body, typeInfo);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private void LogFailure(string operation, LineSendResult result)
    {
        // Rate limiting and retry-key replays are expected under load; logging them as warnings would flood the log.
        if (result.Kind is LineResultKind.RateLimited or LineResultKind.AlreadyAccepted or LineResultKind.NotSent)
        {
            LogExpectedFailure(_logger, operation, result.Kind, result.StatusCode, result.RequestId);
        }
        else
        {
            LogUnexpectedFailure(_logger, operation, result.Kind, result.StatusCode, result.RequestId, result.ErrorMessage);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "LINE {Operation} answered {Kind} ({StatusCode}), request id {LineRequestId}")]
    private static partial void LogExpectedFailure(ILogger logger, string operation, LineResultKind kind, int? statusCode, string? lineRequestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "LINE {Operation} answered {Kind} ({StatusCode}), request id {LineRequestId}: {LineMessage}")]
    private static partial void LogUnexpectedFailure(ILogger logger, string operation, LineResultKind kind, int? statusCode, string? lineRequestId, string? lineMessage);

    [LoggerMessage(Level = LogLevel.Warning, Message = "LINE {Operation} failed on the network: {ExceptionType} {ExceptionMessage}")]
    private static partial void LogNetworkError(ILogger logger, string operation, string exceptionType, string exceptionMessage);

    [LoggerMessage(Level = LogLevel.Warning, Message = "LINE {Operation} answered {StatusCode} with a body that could not be read, request id {LineRequestId}")]
    private static partial void LogUnreadableBody(ILogger logger, string operation, int? statusCode, string? lineRequestId);
}
