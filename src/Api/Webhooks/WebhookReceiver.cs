using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Diagnostics;
using Stepcast.Grains.Line.Webhooks;
using Stepcast.Silo.Operations;

namespace Stepcast.Api.Webhooks;

/// <summary>
/// One webhook request, checked in the order that costs an attacker the most and us the least: size, channel,
/// signature, then parsing. Nothing changes state before the signature is verified and the body parsed.
/// </summary>
public sealed partial class WebhookReceiver(
    ChannelSettingsCache channels,
    WebhookDispatcher dispatcher,
    HostDrain drain,
    StepcastMetrics metrics,
    IOptions<WebhookOptions> options,
    ILogger<WebhookReceiver> logger)
{
    public const string SignatureHeader = "X-Line-Signature";

    public async Task<Results<Ok, ValidationProblem, ProblemHttpResult>> ReceiveAsync(string channelId, HttpRequest request)
    {
        if (drain.IsDraining)
        {
            // Before reading anything: this pod is going away, and LINE redelivers to one that is not.
            metrics.WebhookEvents(WebhookOutcomes.Unavailable);
            return Unavailable("This instance is shutting down. LINE will redeliver the events.");
        }

        var aborted = request.HttpContext.RequestAborted;
        WebhookPayload? payload = null;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        deadline.CancelAfter(options.Value.HandlingTimeout);
        try
        {
            (payload, var refusal) = await ReadAndVerifyAsync(channelId, request, deadline.Token);
            if (refusal is not null)
            {
                metrics.WebhookEvents(WebhookOutcomes.Refused);
                return refusal;
            }

            var outcome = await dispatcher.DispatchAsync(channelId, payload!, deadline.Token);
            LogHandled(channelId, outcome.EventCount, outcome.RoutedCount, outcome.FriendCount, outcome.DuplicateCount, outcome.RedeliveredCount);
            metrics.WebhookEvents(WebhookOutcomes.Accepted, outcome.RoutedCount - outcome.DuplicateCount);
            metrics.WebhookEvents(WebhookOutcomes.Duplicate, outcome.DuplicateCount);
            metrics.WebhookEvents(WebhookOutcomes.Ignored, outcome.EventCount - outcome.RoutedCount);
            return TypedResults.Ok();
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !aborted.IsCancellationRequested)
        {
            LogTimedOut(channelId, options.Value.HandlingTimeout);
            metrics.WebhookEvents(WebhookOutcomes.Unavailable, Math.Max(1, payload?.Events.Count ?? 1));
            return Unavailable("The events were not stored within the time LINE waits for an answer.");
        }
        catch (Exception exception) when (!aborted.IsCancellationRequested)
        {
            // Storage down, a silo gone, a grain call timing out: LINE redelivers on a 5xx, and the friend grains
            // recognise the events they did apply by their webhookEventId.
            LogFailed(exception, channelId);
            metrics.WebhookEvents(WebhookOutcomes.Unavailable, Math.Max(1, payload?.Events.Count ?? 1));
            return Unavailable("The events could not be stored. LINE will redeliver them.");
        }
    }

    /// <summary>The parsed payload of a verified body, or the answer refusing the request.</summary>
    private async Task<(WebhookPayload? Payload, Results<Ok, ValidationProblem, ProblemHttpResult>? Refusal)> ReadAndVerifyAsync(
        string channelId, HttpRequest request, CancellationToken cancellationToken)
    {
        using var body = await WebhookBody.ReadAsync(request, WebhookOptions.MaxBodyBytes, cancellationToken);
        if (body is null)
        {
            LogTooLarge(channelId, request.ContentLength);
            return (null, TypedResults.Problem(
                statusCode: StatusCodes.Status413PayloadTooLarge,
                title: "The webhook body is too large.",
                detail: $"A webhook body may be at most {WebhookOptions.MaxBodyBytes} bytes."));
        }

        var channel = await channels.GetAsync(channelId).AsTask().WaitAsync(cancellationToken);
        if (channel is null)
        {
            LogUnknownChannel(channelId);
            return (null, TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound,
                title: "Unknown channel.",
                detail: $"No channel '{channelId}' is registered."));
        }

        // Several values of the header are as good as a wrong one.
        var signatures = request.Headers[SignatureHeader];
        if (!LineSignature.IsValid(body.Span, channel.ChannelSecret, signatures.Count == 1 ? signatures[0] : null))
        {
            LogBadSignature(channelId, signatures.Count > 0, body.Length);
            return (null, TypedResults.Problem(
                statusCode: StatusCodes.Status401Unauthorized,
                title: "Invalid signature.",
                detail: $"The {SignatureHeader} header is missing or is not the base64 HMAC-SHA256 of the body keyed with the channel secret."));
        }

        try
        {
            return (WebhookParser.Parse(body.Span), null);
        }
        catch (WebhookParseException exception)
        {
            LogMalformed(channelId, exception.Path);
            return (null, TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { [exception.Path] = [exception.Reason] },
                detail: $"The body is not a LINE webhook: {exception.Reason} at {exception.Path}.",
                title: "Malformed webhook body.",
                extensions: new Dictionary<string, object?> { ["path"] = exception.Path }));
        }
    }

    private static ProblemHttpResult Unavailable(string detail) => TypedResults.Problem(
        statusCode: StatusCodes.Status503ServiceUnavailable,
        title: "The webhook could not be handled now.",
        detail: detail);

    [LoggerMessage(LogLevel.Debug, "Webhook for channel {ChannelId}: {EventCount} event(s), {RoutedCount} for {FriendCount} friend(s), {DuplicateCount} already applied, {RedeliveredCount} redelivered")]
    private partial void LogHandled(string channelId, int eventCount, int routedCount, int friendCount, int duplicateCount, int redeliveredCount);

    [LoggerMessage(LogLevel.Warning, "Webhook for channel {ChannelId} refused: body larger than the limit (Content-Length {ContentLength})")]
    private partial void LogTooLarge(string channelId, long? contentLength);

    [LoggerMessage(LogLevel.Warning, "Webhook for unknown channel {ChannelId} refused")]
    private partial void LogUnknownChannel(string channelId);

    [LoggerMessage(LogLevel.Warning, "Webhook for channel {ChannelId} refused: invalid signature (header present: {HeaderPresent}, {BodyLength} bytes)")]
    private partial void LogBadSignature(string channelId, bool headerPresent, int bodyLength);

    [LoggerMessage(LogLevel.Warning, "Webhook for channel {ChannelId} refused: malformed body at {Path}")]
    private partial void LogMalformed(string channelId, string path);

    [LoggerMessage(LogLevel.Warning, "Webhook for channel {ChannelId} not handled within {Timeout}; answered 503 so LINE redelivers")]
    private partial void LogTimedOut(string channelId, TimeSpan timeout);

    [LoggerMessage(LogLevel.Error, "Webhook for channel {ChannelId} failed; answered 503 so LINE redelivers")]
    private partial void LogFailed(Exception exception, string channelId);
}

/// <summary>
/// The <c>outcome</c> tag of <c>stepcast.webhook.events</c>. Events are counted once the body is parsed; a request
/// refused or turned away before that counts as one.
/// </summary>
public static class WebhookOutcomes
{
    public const string Accepted = "accepted";
    public const string Duplicate = "duplicate";
    public const string Ignored = "ignored";
    public const string Refused = "refused";
    public const string Unavailable = "unavailable";
}
