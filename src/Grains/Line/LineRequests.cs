using System.Text.Json;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Grains.Line;

/// <summary>Body of <c>POST /v2/bot/message/push</c>: up to 5 messages to one friend, group or room.</summary>
public sealed record LinePushRequest(string To, IReadOnlyList<LineMessage> Messages)
{
    /// <summary>When true the friend gets no push notification.</summary>
    public bool NotificationDisabled { get; init; }

    /// <summary>Custom aggregation unit names (statistics per step); null to omit.</summary>
    public IReadOnlyList<string>? CustomAggregationUnits { get; init; }
}

/// <summary>Body of <c>POST /v2/bot/message/multicast</c>: up to 5 messages to up to 500 friends.</summary>
public sealed record LineMulticastRequest(IReadOnlyList<string> To, IReadOnlyList<LineMessage> Messages)
{
    /// <summary>LINE's limit on <see cref="To"/>.</summary>
    public const int MaxRecipients = 500;

    /// <summary>When true the friends get no push notification.</summary>
    public bool NotificationDisabled { get; init; }

    /// <summary>At most one custom aggregation unit name; null to omit.</summary>
    public IReadOnlyList<string>? CustomAggregationUnits { get; init; }
}

/// <summary>Body of <c>POST /v2/bot/message/reply</c>: answers a webhook event within its reply token's lifetime.</summary>
public sealed record LineReplyRequest(string ReplyToken, IReadOnlyList<LineMessage> Messages)
{
    /// <summary>When true the friend gets no push notification.</summary>
    public bool NotificationDisabled { get; init; }
}

/// <summary>Body of <c>POST /v2/bot/message/broadcast</c>: messages to every friend of the channel.</summary>
public sealed record LineBroadcastRequest(IReadOnlyList<LineMessage> Messages)
{
    /// <summary>When true the friends get no push notification.</summary>
    public bool NotificationDisabled { get; init; }
}

/// <summary>
/// Body of <c>POST /v2/bot/message/narrowcast</c>. Recipient and filter objects are nested boolean trees
/// (operator/audience/redelivery, demographic filters) that the engine builds as JSON, so they travel as raw JSON.
/// </summary>
public sealed record LineNarrowcastRequest(IReadOnlyList<LineMessage> Messages)
{
    /// <summary>A LINE recipient object, e.g. <c>{"type":"audience","audienceGroupId":123}</c>; null for all friends.</summary>
    public JsonElement? Recipient { get; init; }

    /// <summary>A LINE filter object (<c>{"demographic":{…}}</c>); null for no filter.</summary>
    public JsonElement? Filter { get; init; }

    /// <summary>Upper bounds on the number of recipients; null for none.</summary>
    public LineNarrowcastLimit? Limit { get; init; }

    /// <summary>When true the friends get no push notification.</summary>
    public bool NotificationDisabled { get; init; }

    /// <summary>A recipient object selecting one audience group, for <see cref="Recipient"/>.</summary>
    public static JsonElement AudienceRecipient(long audienceGroupId)
    {
        using var document = JsonDocument.Parse($$"""{"type":"audience","audienceGroupId":{{audienceGroupId}}}""");
        return document.RootElement.Clone();
    }
}

/// <summary>The <c>limit</c> object of a narrowcast.</summary>
public sealed record LineNarrowcastLimit
{
    /// <summary>Maximum number of recipients (chosen at random); null for no maximum.</summary>
    public int? Max { get; init; }

    /// <summary>Send only as many as the remaining monthly quota allows instead of failing.</summary>
    public bool UpToRemainingQuota { get; init; }

    /// <summary>Cancel rather than deliver to a subset; only valid with <see cref="UpToRemainingQuota"/>.</summary>
    public bool ForbidPartialDelivery { get; init; }
}

/// <summary>
/// Creates an upload-type audience group from friend user IDs (<c>POST /v2/bot/audienceGroup/upload</c>, JSON variant),
/// e.g. to narrowcast one step to a segment.
/// </summary>
public sealed record LineCreateAudienceGroupRequest(string Description, IReadOnlyList<string> UserIds)
{
    /// <summary>LINE's limit on the number of IDs in one JSON upload.</summary>
    public const int MaxUserIds = 10_000;

    /// <summary>Description of the upload job (<c>jobs[].description</c>); null to omit.</summary>
    public string? UploadDescription { get; init; }
}
