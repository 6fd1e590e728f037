namespace Stepcast.Grains.Line;

/// <summary>
/// The LINE Messaging API operations the engine uses. One instance serves every channel: the channel access token is
/// an argument of each call, never state, so a token rotation takes effect on the next call.
/// </summary>
/// <remarks>
/// No method throws for anything LINE or the network does; failures come back as <see cref="LineSendResult"/> kinds.
/// Only caller cancellation (<see cref="OperationCanceledException"/>) and programming errors (null arguments) throw.
/// Bounds such as "at most 5 messages" or "at most 500 recipients" are left to LINE, so a violating request comes back
/// <see cref="LineResultKind.Rejected"/> with LINE's details naming the property.
/// </remarks>
public interface ILineMessagingClient
{
    /// <summary>
    /// Sends messages to one friend, group or room. <paramref name="retryKey"/> goes out as <c>X-Line-Retry-Key</c>:
    /// reuse the same key when retrying after a timeout or 5xx, so LINE answers 409 (<see cref="LineResultKind.AlreadyAccepted"/>)
    /// instead of sending twice.
    /// </summary>
    Task<LineSendResult> PushAsync(string channelAccessToken, LinePushRequest request, Guid retryKey, CancellationToken cancellationToken = default);

    /// <summary>Sends the same messages to up to 500 friends, with a retry key as for <see cref="PushAsync"/>.</summary>
    Task<LineSendResult> MulticastAsync(string channelAccessToken, LineMulticastRequest request, Guid retryKey, CancellationToken cancellationToken = default);

    /// <summary>Replies to a webhook event. LINE has no retry key for replies: the reply token itself is single-use.</summary>
    Task<LineSendResult> ReplyAsync(string channelAccessToken, LineReplyRequest request, CancellationToken cancellationToken = default);

    /// <summary>Sends messages to every friend of the channel, with a retry key as for <see cref="PushAsync"/>.</summary>
    Task<LineSendResult> BroadcastAsync(string channelAccessToken, LineBroadcastRequest request, Guid retryKey, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sends messages to an audience or filtered subset, asynchronously on LINE's side (202); poll
    /// <see cref="GetNarrowcastProgressAsync"/> with the result's <see cref="LineSendResult.RequestId"/>.
    /// </summary>
    Task<LineSendResult> NarrowcastAsync(string channelAccessToken, LineNarrowcastRequest request, Guid retryKey, CancellationToken cancellationToken = default);

    /// <summary>Reads the progress of a narrowcast by the request id its send returned.</summary>
    Task<LineQueryResult<LineNarrowcastProgress>> GetNarrowcastProgressAsync(string channelAccessToken, string requestId, CancellationToken cancellationToken = default);

    /// <summary>Reads a friend's profile. A friend who blocked the channel comes back <see cref="LineResultKind.Rejected"/> (404).</summary>
    Task<LineQueryResult<LineProfile>> GetProfileAsync(string channelAccessToken, string userId, CancellationToken cancellationToken = default);

    /// <summary>Reads the channel's monthly message target.</summary>
    Task<LineQueryResult<LineMessageQuota>> GetMessageQuotaAsync(string channelAccessToken, CancellationToken cancellationToken = default);

    /// <summary>Reads how many messages the channel sent this month.</summary>
    Task<LineQueryResult<LineQuotaConsumption>> GetMessageQuotaConsumptionAsync(string channelAccessToken, CancellationToken cancellationToken = default);

    /// <summary>Creates an upload-type audience group from friend user IDs (JSON variant, at most 10,000 IDs).</summary>
    Task<LineQueryResult<LineAudienceGroup>> CreateAudienceGroupAsync(string channelAccessToken, LineCreateAudienceGroupRequest request, CancellationToken cancellationToken = default);
}
