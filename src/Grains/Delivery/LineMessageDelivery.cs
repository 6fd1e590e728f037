using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Line;
using Stepcast.Grains.RateLimiting;

namespace Stepcast.Grains.Delivery;

/// <summary>
/// Pushes through the LINE Messaging API with the request's retry key as <c>X-Line-Retry-Key</c>, so every attempt —
/// here, or later by the friend grain with the same key — delivers at most once (LINE answers 409 to a key it has
/// accepted). Transient failures are retried a few times with exponential backoff and full jitter; what outlasts
/// the budget goes back to the grain as <see cref="DeliveryStatus.RetryLater"/>.
/// </summary>
public sealed partial class LineMessageDelivery(
    ChannelSettingsCache channels,
    ILineMessagingClient line,
    ChannelRateLimiter rateLimiter,
    IOptions<DeliveryOptions> options,
    TimeProvider timeProvider,
    ILogger<LineMessageDelivery> logger) : IMessageDelivery
{
    private readonly DeliveryOptions _options = options.Value;

    public async ValueTask<DeliveryOutcome> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var settings = await channels.GetAsync(request.ChannelId);
        if (string.IsNullOrEmpty(settings?.AccessToken))
        {
            // A missing token is a configuration gap, not a property of the message: registering one resumes the step.
            return new DeliveryOutcome(DeliveryStatus.RetryLater, "the channel has no access token");
        }

        return await DeliverAsync(request, settings.AccessToken, cancellationToken);
    }

    /// <summary>Delivers with a token the caller already looked up (the routing delivery does).</summary>
    internal ValueTask<DeliveryOutcome> DeliverAsync(DeliveryRequest request, string accessToken, CancellationToken cancellationToken)
    {
        var push = new LinePushRequest(request.LineUserId, request.Messages);
        return SendWithRetriesAsync(
            request.ChannelId, request.StepId, LineApis.Push,
            ct => line.PushAsync(accessToken, push, request.RetryKey, ct), cancellationToken);
    }

    /// <summary>One multicast to a fixed recipient list, retried like a push with the batch's retry key.</summary>
    internal ValueTask<DeliveryOutcome> MulticastAsync(MulticastRequest request, string accessToken, CancellationToken cancellationToken)
    {
        var multicast = new LineMulticastRequest(request.LineUserIds, request.Messages);
        return SendWithRetriesAsync(
            request.ChannelId, request.StepId, LineApis.Multicast,
            ct => line.MulticastAsync(accessToken, multicast, request.RetryKey, ct), cancellationToken);
    }

    private async ValueTask<DeliveryOutcome> SendWithRetriesAsync(
        string channelId, string stepId, string api, Func<CancellationToken, Task<LineSendResult>> send, CancellationToken cancellationToken)
    {
        var started = timeProvider.GetTimestamp();
        LineSendResult? last = null;
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            if (!await rateLimiter.AcquireAsync(channelId, api, _options.MaxPermitWait, cancellationToken))
            {
                return new DeliveryOutcome(DeliveryStatus.Throttled, $"no {api} permit within {_options.MaxPermitWait.TotalSeconds:0.#} s (channel rate limit)");
            }

            last = await send(cancellationToken);
            switch (last.Kind)
            {
                case LineResultKind.Accepted:
                    return DeliveryOutcome.Delivered;
                case LineResultKind.AlreadyAccepted:
                    return new DeliveryOutcome(DeliveryStatus.AlreadyDelivered, "LINE had already accepted this retry key (409)");
                case LineResultKind.QuotaExceeded:
                    // Lasts until the month or the plan changes: retrying in this call would only burn requests.
                    return new DeliveryOutcome(DeliveryStatus.QuotaExhausted, Describe(last));
                case LineResultKind.Rejected:
                    return new DeliveryOutcome(DeliveryStatus.Rejected, Describe(last));
                case LineResultKind.NotSent:
                    // Nothing reached LINE, as with a refused permit: back in line within seconds, not a retry period.
                    return new DeliveryOutcome(DeliveryStatus.Throttled, Describe(last));
            }

            if (attempt == _options.MaxAttempts)
            {
                break;
            }

            var backoff = last.RetryAfter ?? FullJitter(attempt);
            if (timeProvider.GetElapsedTime(started) + backoff > _options.RetryBudget)
            {
                break;
            }

            LogRetrying(logger, channelId, stepId, last.Kind, attempt, backoff.TotalMilliseconds);
            await Task.Delay(backoff, timeProvider, cancellationToken);
        }

        return new DeliveryOutcome(DeliveryStatus.RetryLater, last is null ? null : Describe(last));
    }

    public async ValueTask<DeliveryOutcome> ReplyAsync(ReplyRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var settings = await channels.GetAsync(request.ChannelId);
        return string.IsNullOrEmpty(settings?.AccessToken)
            ? new DeliveryOutcome(DeliveryStatus.Rejected, "the channel has no access token")
            : await ReplyAsync(request, settings.AccessToken, cancellationToken);
    }

    /// <summary>
    /// One attempt, and one quick retry when LINE failed or did not answer. Safe without a retry key: if the first
    /// attempt did reach LINE, its token is spent and the retry is refused ("Invalid reply token") rather than
    /// answered twice. Nothing is retried later, as the token expires within about a minute. Replies are free of the
    /// monthly quota and share no rate-limit budget with pushes, so they take no permit.
    /// </summary>
    internal async ValueTask<DeliveryOutcome> ReplyAsync(ReplyRequest request, string accessToken, CancellationToken cancellationToken)
    {
        var reply = new LineReplyRequest(request.ReplyToken, request.Messages);
        var first = await line.ReplyAsync(accessToken, reply, cancellationToken);
        if (first.Kind == LineResultKind.Accepted)
        {
            return DeliveryOutcome.Delivered;
        }

        if (first.Kind is not (LineResultKind.ServerError or LineResultKind.Timeout or LineResultKind.NetworkError or LineResultKind.NotSent))
        {
            return new DeliveryOutcome(DeliveryStatus.Rejected, Describe(first));
        }

        var backoff = FullJitter(1);
        LogRetryingReply(logger, request.ChannelId, first.Kind, backoff.TotalMilliseconds);
        await Task.Delay(backoff, timeProvider, cancellationToken);
        var second = await line.ReplyAsync(accessToken, reply, cancellationToken);
        return second.Kind == LineResultKind.Accepted
            ? DeliveryOutcome.Delivered
            // The first answer matters too: after a timeout, "Invalid reply token" may mean it was delivered after all.
            : new DeliveryOutcome(DeliveryStatus.Rejected, $"{Describe(first)}; retry: {Describe(second)}");
    }

    /// <summary>A delay drawn uniformly from [0, min(max, base·2^(attempt-1))], so retries from many grains spread out.</summary>
    private TimeSpan FullJitter(int attempt)
    {
        var ceiling = Math.Min(_options.MaxBackoff.Ticks, _options.BaseBackoff.Ticks << Math.Min(attempt - 1, 20));
        return TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * ceiling));
    }

    /// <summary>LINE's status, message and details, as the friend's history shows them.</summary>
    private static string Describe(LineSendResult result)
    {
        var text = new StringBuilder();
        text.Append(result.Kind);
        if (result.StatusCode is { } status)
        {
            text.Append(' ').Append(status);
        }

        if (!string.IsNullOrEmpty(result.ErrorMessage))
        {
            text.Append(": ").Append(result.ErrorMessage);
        }

        foreach (var detail in result.ErrorDetails)
        {
            text.Append(" [").Append(detail.Property).Append(": ").Append(detail.Message).Append(']');
        }

        return text.ToString();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Send of step {StepId} on channel {ChannelId} answered {Kind} on attempt {Attempt}; retrying in {BackoffMs} ms")]
    private static partial void LogRetrying(ILogger logger, string channelId, string stepId, LineResultKind kind, int attempt, double backoffMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Reply on channel {ChannelId} answered {Kind}; retrying once in {BackoffMs} ms")]
    private static partial void LogRetryingReply(ILogger logger, string channelId, LineResultKind kind, double backoffMs);
}
