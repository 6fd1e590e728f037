using System.Collections.Concurrent;
using System.Collections.Immutable;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Delivery;

/// <summary>
/// A push or reply the sandbox accepted, with the time it was accepted on the engine's clock. A reply has no retry
/// key, scenario or step (they are empty); its <see cref="Keyword"/> names the auto-reply rule that answered.
/// </summary>
public sealed record RecordedDelivery(
    string ChannelId,
    string LineUserId,
    Guid RetryKey,
    ImmutableArray<LineMessage> Messages,
    string ScenarioId,
    int ScenarioVersion,
    string StepId,
    bool IsTest,
    DateTimeOffset SentAt,
    RecordedDeliveryKind Kind = RecordedDeliveryKind.Push,
    string? Keyword = null);

public enum RecordedDeliveryKind
{
    Push,
    /// <summary>An answer through the reply API (an auto-reply), free of the monthly quota.</summary>
    Reply,
}

/// <summary>
/// The delivery used when no LINE credentials are configured: it keeps every push in memory (readable over
/// HTTP in the sandbox) and honours retry keys like LINE does, so a repeated key is not recorded twice; a reply
/// token, as on LINE, answers once.
/// Transient failures can be injected to exercise the retry path.
/// </summary>
public sealed class SandboxDeliveryRecorder(TimeProvider timeProvider) : IMessageDelivery, IMulticastDelivery
{
    private readonly ConcurrentDictionary<Guid, RecordedDelivery> _byRetryKey = new();
    private readonly ConcurrentDictionary<Guid, bool> _multicastKeys = new();
    private readonly ConcurrentQueue<RecordedDelivery> _inOrder = new();
    private readonly ConcurrentDictionary<string, bool> _usedReplyTokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _failuresToInject = new(StringComparer.Ordinal);

    public ValueTask<DeliveryOutcome> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        if (TryConsumeInjectedFailure(request.ChannelId))
        {
            return ValueTask.FromResult(new DeliveryOutcome(DeliveryStatus.RetryLater, "injected sandbox failure"));
        }

        var recorded = new RecordedDelivery(
            request.ChannelId, request.LineUserId, request.RetryKey, request.Messages, request.ScenarioId,
            request.ScenarioVersion, request.StepId, request.IsTest, timeProvider.GetUtcNow());
        if (!_byRetryKey.TryAdd(request.RetryKey, recorded))
        {
            return ValueTask.FromResult(DeliveryOutcome.AlreadyDelivered);
        }

        _inOrder.Enqueue(recorded);
        return ValueTask.FromResult(DeliveryOutcome.Delivered);
    }

    /// <summary>A multicast is recorded as one delivery per recipient, all with the batch's retry key.</summary>
    public ValueTask<DeliveryOutcome> MulticastAsync(MulticastRequest request, CancellationToken cancellationToken)
    {
        if (TryConsumeInjectedFailure(request.ChannelId))
        {
            return ValueTask.FromResult(new DeliveryOutcome(DeliveryStatus.RetryLater, "injected sandbox failure"));
        }

        if (!_multicastKeys.TryAdd(request.RetryKey, true))
        {
            return ValueTask.FromResult(DeliveryOutcome.AlreadyDelivered);
        }

        var sentAt = timeProvider.GetUtcNow();
        foreach (var lineUserId in request.LineUserIds)
        {
            _inOrder.Enqueue(new RecordedDelivery(
                request.ChannelId, lineUserId, request.RetryKey, request.Messages, request.ScenarioId,
                request.ScenarioVersion, request.StepId, IsTest: false, sentAt));
        }

        return ValueTask.FromResult(DeliveryOutcome.Delivered);
    }

    /// <summary>Every accepted push, oldest first.</summary>
    public ValueTask<DeliveryOutcome> ReplyAsync(ReplyRequest request, CancellationToken cancellationToken)
    {
        if (!_usedReplyTokens.TryAdd(request.ReplyToken, true))
        {
            // LINE's own answer to a token used twice.
            return ValueTask.FromResult(new DeliveryOutcome(DeliveryStatus.Rejected, "Rejected 400: Invalid reply token"));
        }

        _inOrder.Enqueue(new RecordedDelivery(
            request.ChannelId, request.LineUserId, Guid.Empty, request.Messages, ScenarioId: "", ScenarioVersion: 0,
            StepId: "", IsTest: false, timeProvider.GetUtcNow(), RecordedDeliveryKind.Reply, request.Keyword));
        return ValueTask.FromResult(DeliveryOutcome.Delivered);
    }

    /// <summary>Every accepted push and reply, oldest first.</summary>
    public IReadOnlyList<RecordedDelivery> Deliveries => [.. _inOrder];

    public IReadOnlyList<RecordedDelivery> DeliveriesTo(string channelId, string lineUserId) =>
        [.. _inOrder.Where(d => d.ChannelId == channelId && d.LineUserId == lineUserId)];

    /// <summary>
    /// The next <paramref name="count"/> pushes or multicasts on <paramref name="channelId"/> answer
    /// <see cref="DeliveryStatus.RetryLater"/>. Per channel, so a send on another channel cannot take the failure.
    /// </summary>
    public void FailNext(string channelId, int count) => _failuresToInject[channelId] = count;

    private bool TryConsumeInjectedFailure(string channelId)
    {
        while (_failuresToInject.TryGetValue(channelId, out var remaining) && remaining > 0)
        {
            if (_failuresToInject.TryUpdate(channelId, remaining - 1, remaining))
            {
                return true;
            }
        }

        return false;
    }

    public void Clear()
    {
        _byRetryKey.Clear();
        _multicastKeys.Clear();
        _inOrder.Clear();
        _usedReplyTokens.Clear();
    }
}
