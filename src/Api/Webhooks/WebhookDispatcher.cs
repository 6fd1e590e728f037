using System.Collections.Immutable;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Line.Webhooks;

namespace Stepcast.Api.Webhooks;

/// <summary>What a webhook's events did: how many reached a friend grain, and how many of those were repeats.</summary>
public readonly record struct WebhookDispatchResult(int EventCount, int RoutedCount, int FriendCount, int DuplicateCount, int RedeliveredCount);

/// <summary>
/// Hands a verified webhook's events to friend grains. A friend's events run one after another in timestamp order
/// (LINE does not promise body order, and an unblock must not overtake the block before it); different friends
/// run in parallel. Returns once every call has answered, i.e. every effect is persisted; throws if any failed.
/// </summary>
public sealed class WebhookDispatcher(IGrainFactory grains)
{
    public const string PostbackEventName = "postback";
    public const string AccountLinkEventName = "account_link";

    public async Task<WebhookDispatchResult> DispatchAsync(string channelId, WebhookPayload payload, CancellationToken cancellationToken)
    {
        var redelivered = 0;
        var byFriend = new Dictionary<string, List<(WebhookEvent Event, object Command)>>(StringComparer.Ordinal);
        foreach (var webhookEvent in payload.Events)
        {
            redelivered += webhookEvent.IsRedelivery ? 1 : 0;
            if (ToFriendCommand(webhookEvent) is { } routed)
            {
                if (!byFriend.TryGetValue(routed.LineUserId, out var commands))
                {
                    byFriend[routed.LineUserId] = commands = [];
                }

                commands.Add((webhookEvent, routed.Command));
            }
        }

        if (byFriend.Count == 0)
        {
            return new WebhookDispatchResult(payload.Events.Count, 0, 0, 0, redelivered);
        }

        var friends = new Task<int>[byFriend.Count];
        var index = 0;
        foreach (var (lineUserId, commands) in byFriend)
        {
            // OrderBy is stable: events with the same timestamp keep the order LINE sent them in.
            friends[index++] = RunInOrderAsync(
                grains.GetFriend(channelId, lineUserId), [.. commands.OrderBy(c => c.Event.Timestamp).Select(c => c.Command)], cancellationToken);
        }

        var all = Task.WhenAll(friends);
        try
        {
            var duplicates = await all.WaitAsync(cancellationToken);
            return new WebhookDispatchResult(payload.Events.Count, byFriend.Values.Sum(c => c.Count), byFriend.Count, duplicates.Sum(), redelivered);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The caller answers now; the calls still running finish on their own. Their failures, if any, are
            // expected (LINE redelivers and the grains drop what they already applied), so observe them quietly.
            _ = all.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            throw;
        }
    }

    /// <summary>Returns how many of the friend's events were repeats the grain had already applied.</summary>
    private static async Task<int> RunInOrderAsync(IFriendGrain friend, object[] commands, CancellationToken cancellationToken)
    {
        var duplicates = 0;
        foreach (var command in commands)
        {
            // A failed call ends the friend's sequence: applying a later event (an unfollow) without the earlier
            // one (the follow), then the earlier one on redelivery, would leave the friend in the wrong state.
            cancellationToken.ThrowIfCancellationRequested();
            var result = await SendAsync(friend, command);
            duplicates += result.Accepted ? 0 : 1;
        }

        return duplicates;
    }

    private static Task<SignalResult> SendAsync(IFriendGrain friend, object command) => command switch
    {
        FollowCommand follow => friend.Follow(follow),
        UnfollowCommand unfollow => friend.Unfollow(unfollow),
        TextMessageCommand text => friend.ReceiveText(text),
        FriendEventCommand friendEvent => friend.RecordEvent(friendEvent),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command.GetType().Name, "not a friend command"),
    };

    /// <summary>
    /// The friend command an event becomes, or null for events Stepcast does not act on: events from groups and
    /// rooms (the sender may not be a friend of the account), events without a user, message types other than
    /// text (nothing in a scenario can react to them yet), and every other or unknown event type.
    /// </summary>
    public static (string LineUserId, object Command)? ToFriendCommand(WebhookEvent webhookEvent)
    {
        if (webhookEvent.Source is not { Type: "user", UserId: { Length: > 0 } lineUserId })
        {
            return null;
        }

        var eventId = webhookEvent.WebhookEventId;
        var at = webhookEvent.Timestamp;
        object? command = webhookEvent switch
        {
            FollowEvent follow => new FollowCommand { EventId = eventId, At = at, IsUnblocked = follow.IsUnblocked },
            UnfollowEvent => new UnfollowCommand { EventId = eventId, At = at },
            MessageEvent { Message: TextMessageContent text } message => new TextMessageCommand
            {
                EventId = eventId,
                At = at,
                Text = text.Text,
                // In standby another channel has the chat: this one must not reply, so it does not get the token.
                ReplyToken = message.IsStandby ? null : message.ReplyToken,
            },
            PostbackEvent postback => new FriendEventCommand
            {
                EventId = eventId,
                At = at,
                Name = PostbackEventName,
                // Picker values and the rich menu switch under their own names; data is set last so it always wins.
                Properties = postback.Params.ToImmutableDictionary(StringComparer.Ordinal).SetItem("data", postback.Data),
            },
            AccountLinkEvent link => new FriendEventCommand
            {
                EventId = eventId,
                At = at,
                Name = AccountLinkEventName,
                Properties = ImmutableDictionary<string, string>.Empty.SetItem("result", link.Result).SetItem("nonce", link.Nonce),
            },
            _ => null,
        };
        return command is null ? null : (lineUserId, command);
    }
}
