using System.Collections.Immutable;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Delivery;

/// <summary>
/// One push to one friend. <see cref="RetryKey"/> is persisted by the friend grain before the first attempt and
/// reused on every retry, so a send whose outcome was lost can be repeated safely (LINE answers 409).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record DeliveryRequest
{
    [Id(0)] public required string ChannelId { get; init; }
    [Id(1)] public required string LineUserId { get; init; }
    [Id(2)] public required Guid RetryKey { get; init; }
    [Id(3)] public required ImmutableArray<LineMessage> Messages { get; init; }
    [Id(4)] public required string ScenarioId { get; init; }
    [Id(5)] public int ScenarioVersion { get; init; }
    [Id(6)] public required string StepId { get; init; }
    [Id(7)] public bool IsTest { get; init; }
}

[GenerateSerializer, Immutable]
public sealed record DeliveryOutcome([property: Id(0)] DeliveryStatus Status, [property: Id(1)] string? Detail = null)
{
    public static DeliveryOutcome Delivered { get; } = new(DeliveryStatus.Delivered);
    public static DeliveryOutcome AlreadyDelivered { get; } = new(DeliveryStatus.AlreadyDelivered);

    public bool IsDelivered => Status is DeliveryStatus.Delivered or DeliveryStatus.AlreadyDelivered;
}

public enum DeliveryStatus
{
    Delivered,
    /// <summary>A retry of a send LINE had already accepted (409 on the retry key): delivered once, not twice.</summary>
    AlreadyDelivered,
    /// <summary>LINE refused the request for good (400/403…): recorded as failed, never retried.</summary>
    Rejected,
    /// <summary>A transient failure (5xx, timeout, rate limit) that outlasted the in-call retries: try again later.</summary>
    RetryLater,
    /// <summary>The channel's monthly message budget is spent: the step waits for budget to return.</summary>
    QuotaExhausted,
    /// <summary>The friend is not among the multicast batch's recipients (it confirmed too late): send it alone.</summary>
    NotInBatch,
    /// <summary>
    /// No rate-limit permit came within the wait: nothing reached LINE. Flow control, not a failure: the friend tries
    /// again within seconds rather than after the transient-failure delay.
    /// </summary>
    Throttled,
}

/// <summary>
/// One multicast: the same messages to up to 500 friends, with one retry key for the whole request. The recipient
/// list is fixed (persisted by the batch grain) before the first attempt, so a retry repeats exactly the same request.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record MulticastRequest
{
    [Id(0)] public required string ChannelId { get; init; }
    [Id(1)] public required ImmutableArray<string> LineUserIds { get; init; }
    [Id(2)] public required Guid RetryKey { get; init; }
    [Id(3)] public required ImmutableArray<LineMessage> Messages { get; init; }
    [Id(4)] public required string ScenarioId { get; init; }
    [Id(5)] public int ScenarioVersion { get; init; }
    [Id(6)] public required string StepId { get; init; }
}
