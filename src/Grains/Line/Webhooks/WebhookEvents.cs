namespace Stepcast.Grains.Line.Webhooks;

// Records mirror webhook.yml. Field names follow LINE's wire names so they can be checked against the spec at a glance.
// Orleans attributes let the API hand events to grains unchanged; never renumber an [Id].

/// <summary>One webhook request: the bot that receives the events and the events (possibly none: LINE's verify request).</summary>
[GenerateSerializer, Immutable]
public sealed record WebhookPayload(
    [property: Id(0)] string Destination,
    [property: Id(1)] IReadOnlyList<WebhookEvent> Events);

/// <summary>Where an event came from (<c>source</c>): a user, group chat or multi-person chat (room).</summary>
[GenerateSerializer, Immutable]
public sealed record WebhookSource(
    [property: Id(0)] string Type,
    [property: Id(1)] string? UserId,
    [property: Id(2)] string? GroupId,
    [property: Id(3)] string? RoomId);

/// <summary>Fields every webhook event has.</summary>
[GenerateSerializer, Immutable]
public abstract record WebhookEvent
{
    /// <summary>The event's <c>type</c> as sent, e.g. <c>follow</c>.</summary>
    [Id(0)] public required string Type { get; init; }

    /// <summary><c>active</c> or <c>standby</c> (another module channel has chat control); null when absent.</summary>
    [Id(1)] public string? Mode { get; init; }

    /// <summary>When the event happened (LINE sends epoch milliseconds).</summary>
    [Id(2)] public DateTimeOffset Timestamp { get; init; }

    /// <summary>Where the event came from; null for events without a source (e.g. some module events).</summary>
    [Id(3)] public WebhookSource? Source { get; init; }

    /// <summary>ULID identifying the event; the key to deduplicate redeliveries.</summary>
    [Id(4)] public string? WebhookEventId { get; init; }

    /// <summary><c>deliveryContext.isRedelivery</c>: LINE is resending an event it may have delivered before.</summary>
    [Id(5)] public bool IsRedelivery { get; init; }

    /// <summary>True when <see cref="Mode"/> is <c>standby</c>: the channel must not reply.</summary>
    public bool IsStandby => string.Equals(Mode, "standby", StringComparison.Ordinal);
}

/// <summary>A message from a user, group or room (<c>message</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record MessageEvent : WebhookEvent
{
    [Id(0)] public string? ReplyToken { get; init; }
    [Id(1)] public required MessageContent Message { get; init; }
}

/// <summary>The channel was added as a friend, or unblocked (<c>follow</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record FollowEvent : WebhookEvent
{
    [Id(0)] public string? ReplyToken { get; init; }

    /// <summary><c>follow.isUnblocked</c>: true when an existing friend unblocked the channel rather than a new friend adding it.</summary>
    [Id(1)] public bool IsUnblocked { get; init; }
}

/// <summary>The channel was blocked (<c>unfollow</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record UnfollowEvent : WebhookEvent;

/// <summary>A postback action was performed (<c>postback</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record PostbackEvent : WebhookEvent
{
    [Id(0)] public string? ReplyToken { get; init; }
    [Id(1)] public required string Data { get; init; }

    /// <summary><c>postback.params</c> (date/time pickers, rich menu switch); empty when absent.</summary>
    [Id(2)] public IReadOnlyDictionary<string, string> Params { get; init; } = System.Collections.ObjectModel.ReadOnlyDictionary<string, string>.Empty;
}

/// <summary>The channel joined a group or room (<c>join</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record JoinEvent : WebhookEvent
{
    [Id(0)] public string? ReplyToken { get; init; }
}

/// <summary>The channel left or was removed from a group or room (<c>leave</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record LeaveEvent : WebhookEvent;

/// <summary>Users joined a group or room the channel is in (<c>memberJoined</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record MemberJoinedEvent : WebhookEvent
{
    [Id(0)] public string? ReplyToken { get; init; }
    [Id(1)] public IReadOnlyList<WebhookSource> Members { get; init; } = [];
}

/// <summary>Users left a group or room the channel is in (<c>memberLeft</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record MemberLeftEvent : WebhookEvent
{
    [Id(0)] public IReadOnlyList<WebhookSource> Members { get; init; } = [];
}

/// <summary>A user came near a LINE Beacon (<c>beacon</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record BeaconEvent : WebhookEvent
{
    [Id(0)] public string? ReplyToken { get; init; }
    [Id(1)] public required string Hwid { get; init; }

    /// <summary><c>beacon.type</c>: enter, banner or stay.</summary>
    [Id(2)] public required string BeaconType { get; init; }

    /// <summary><c>beacon.dm</c>: the device message, when present.</summary>
    [Id(3)] public string? DeviceMessage { get; init; }
}

/// <summary>A user linked (or failed to link) their LINE account to a provider account (<c>accountLink</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record AccountLinkEvent : WebhookEvent
{
    [Id(0)] public string? ReplyToken { get; init; }

    /// <summary><c>link.result</c>: ok or failed.</summary>
    [Id(1)] public required string Result { get; init; }
    [Id(2)] public required string Nonce { get; init; }
}

/// <summary>
/// A LINE Things device event (<c>things</c>). Not in webhook.yml any more (LINE Things was discontinued) but still
/// recognised so old channels' payloads parse into something typed.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ThingsEvent : WebhookEvent
{
    [Id(0)] public string? ReplyToken { get; init; }
    [Id(1)] public string? DeviceId { get; init; }

    /// <summary><c>things.type</c>: link, unlink or scenarioResult.</summary>
    [Id(2)] public string? ThingsType { get; init; }
}

/// <summary>A user unsent a message (<c>unsend</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record UnsendEvent : WebhookEvent
{
    [Id(0)] public required string MessageId { get; init; }
}

/// <summary>A user finished watching a video that had a tracking ID (<c>videoPlayComplete</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record VideoPlayCompleteEvent : WebhookEvent
{
    [Id(0)] public string? ReplyToken { get; init; }
    [Id(1)] public required string TrackingId { get; init; }
}

/// <summary>A user joined, left or renewed a membership (<c>membership</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record MembershipEvent : WebhookEvent
{
    [Id(0)] public string? ReplyToken { get; init; }

    /// <summary><c>membership.type</c>: joined, left or renewed.</summary>
    [Id(1)] public required string MembershipType { get; init; }
    [Id(2)] public long MembershipId { get; init; }
}

/// <summary>
/// A module channel event (<c>module</c>: attached/detached). Kept generic — type, bot and the raw object — because
/// Stepcast is not a module channel and only needs to notice these.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ModuleEvent : WebhookEvent
{
    /// <summary><c>module.type</c>: attached or detached.</summary>
    [Id(0)] public string? ModuleType { get; init; }
    [Id(1)] public string? BotId { get; init; }

    /// <summary>The <c>module</c> object as received.</summary>
    [Id(2)] public required string Json { get; init; }
}

/// <summary>The module channel became the active channel (<c>activated</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record ActivatedEvent : WebhookEvent
{
    /// <summary><c>chatControl.expireAt</c>: when the chat control ends; null when absent.</summary>
    [Id(0)] public DateTimeOffset? ChatControlExpireAt { get; init; }
}

/// <summary>The module channel went to standby (<c>deactivated</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record DeactivatedEvent : WebhookEvent;

/// <summary>The LINE Official Account was suspended (<c>botSuspended</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record BotSuspendedEvent : WebhookEvent;

/// <summary>The LINE Official Account came back from suspension (<c>botResumed</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record BotResumedEvent : WebhookEvent;

/// <summary>A LINE notification message was delivered (<c>delivery</c>).</summary>
[GenerateSerializer, Immutable]
public sealed record DeliveryEvent : WebhookEvent
{
    /// <summary><c>delivery.data</c>: hashed phone number or the <c>X-Line-Delivery-Tag</c> sent.</summary>
    [Id(0)] public required string Data { get; init; }
}

/// <summary>
/// An event type this parser does not know. LINE adds event types without notice; ignoring them instead of failing
/// keeps the webhook answering 200 so LINE does not disable or retry it.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record UnknownWebhookEvent : WebhookEvent;
