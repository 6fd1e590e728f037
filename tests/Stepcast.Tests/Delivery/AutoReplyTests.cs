using System.Text.Json;
using Stepcast.FakeLine;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using static Stepcast.Tests.Engine.Scenario;

namespace Stepcast.Tests.Delivery;

/// <summary>Keyword auto-replies through LINE's reply API, against the fake LINE server on a two-silo cluster.</summary>
[Collection(FaultyLineCollection.Name)]
public sealed class AutoReplyTests(FaultyLineCluster cluster)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static readonly AutoReplyRule Hours = new()
    {
        Keywords = ["hours", "営業時間"],
        Messages = [LineMessage.Text("{displayName}, we are open 11:00–22:00."), LineMessage.Text("See you soon!")],
    };

    private static readonly AutoReplyRule Menu = new()
    {
        Keywords = ["menu", "hour"],
        Match = KeywordMatch.Contains,
        Messages = [LineMessage.Text("Today's menu: ramen")],
    };

    private async Task<(string Channel, string Token)> ChannelWithAutoRepliesAsync()
    {
        var channel = NewChannel();
        var token = await cluster.RegisterLineChannelAsync(channel);
        Assert.Empty(await cluster.Grains.GetGrain<IChannelGrain>(channel).SetAutoReplies([Hours, Menu]));
        return (channel, token);
    }

    private static TextMessageCommand Text(string text, string replyToken, string? eventId = null) => new()
    {
        EventId = eventId ?? Guid.NewGuid().ToString("N"),
        At = DateTimeOffset.UtcNow,
        Text = text,
        ReplyToken = replyToken,
    };

    private IReadOnlyList<FakeLineDelivery> RepliesFor(string token) =>
        [.. cluster.Line.Deliveries.Snapshot().Where(d => d.ChannelAccessToken == token && d.Endpoint == "reply")];

    private async Task<FriendSnapshot> UntilHistoryAsync(string channel, string friend, Func<HistoryEntry, bool> entry) =>
        (await cluster.DriveUntilAsync(channel, [friend], s => s.History.Any(entry), Patience)).Single();

    private static string[] Texts(string messagesJson)
    {
        using var messages = JsonDocument.Parse(messagesJson);
        return [.. messages.RootElement.EnumerateArray().Select(m => m.GetProperty("text").GetString()!)];
    }

    [Fact]
    public async Task A_matching_text_is_answered_through_the_reply_api_free_of_quota_and_a_keyword_scenario_still_starts()
    {
        var (channel, token) = await ChannelWithAutoRepliesAsync();
        await cluster.PublishAsync(Define(channel, "hours-follow-up", new KeywordTrigger { Keywords = ["HOURS"] }, Send("follow-up", "Book a table?")));
        await cluster.Friend(channel, "U1").Follow(new FollowCommand { At = DateTimeOffset.UtcNow, DisplayName = "Hanako" });

        // Both rules match ("hour" is in the text); the first one answers, once.
        var result = await cluster.Friend(channel, "U1").ReceiveText(Text("  Hours ", "reply-token-1"));
        var snapshot = (await cluster.DriveUntilAsync(channel, ["U1"],
            s => s.History.Any(h => h.Kind == HistoryKind.Replied) && s.Enrollments.IsEmpty, Patience)).Single();

        Assert.Equal("hours-follow-up", Assert.Single(result.EnteredScenarios));
        var reply = Assert.Single(RepliesFor(token));
        Assert.Equal("reply-token-1", reply.ReplyToken);
        Assert.Null(reply.RetryKey);
        Assert.Equal(["Hanako, we are open 11:00–22:00.", "See you soon!"], Texts(reply.MessagesJson));
        Assert.Equal("hours", Assert.Single(snapshot.History, h => h.Kind == HistoryKind.Replied).Detail);
        Assert.Equal(["Book a table?"], cluster.PushesFor(token).Select(LineDeliveryTests.TextOf));
        // The push counts against the plan; the reply does not.
        Assert.Equal(1, cluster.Line.GetQuotaUsage(token));
    }

    [Fact]
    public async Task A_contains_rule_answers_and_a_text_matching_no_rule_gets_no_reply()
    {
        var (channel, token) = await ChannelWithAutoRepliesAsync();

        await cluster.Friend(channel, "U1").ReceiveText(Text("what time do you open?", "no-match"));
        await cluster.Friend(channel, "U1").ReceiveText(Text("is there a MENU for hours?", "contains-match"));
        var snapshot = await UntilHistoryAsync(channel, "U1", h => h.Kind == HistoryKind.Replied);
        await Task.Delay(500);

        var reply = Assert.Single(RepliesFor(token));
        Assert.Equal("contains-match", reply.ReplyToken);
        Assert.Equal(["Today's menu: ramen"], Texts(reply.MessagesJson));
        Assert.Equal("menu", Assert.Single(snapshot.History, h => h.Kind == HistoryKind.Replied).Detail);
        Assert.Equal(1, cluster.Line.Stats.Requests(token, "reply"));
    }

    [Fact]
    public async Task A_redelivered_command_does_not_reply_twice()
    {
        var (channel, token) = await ChannelWithAutoRepliesAsync();
        var command = Text("menu", "reply-once", eventId: "01HREDELIVERED");

        var first = await cluster.Friend(channel, "U1").ReceiveText(command);
        await UntilHistoryAsync(channel, "U1", h => h.Kind == HistoryKind.Replied);
        var second = await cluster.Friend(channel, "U1").ReceiveText(command);
        await Task.Delay(500);

        Assert.True(first.Accepted);
        Assert.False(second.Accepted);
        Assert.Single(RepliesFor(token));
        Assert.Equal(1, cluster.Line.Stats.Requests(token, "reply"));
        Assert.Single((await cluster.Friend(channel, "U1").GetSnapshot()).History, h => h.Kind == HistoryKind.Replied);
    }

    [Fact]
    public async Task A_spent_or_expired_reply_token_is_recorded_as_failed_with_lines_reason()
    {
        var (channel, token) = await ChannelWithAutoRepliesAsync();
        await cluster.Friend(channel, "U1").ReceiveText(Text("menu", "spent-token"));
        await UntilHistoryAsync(channel, "U1", h => h.Kind == HistoryKind.Replied);

        // A new message carrying a token LINE no longer accepts: LINE answers 400 "Invalid reply token".
        await cluster.Friend(channel, "U1").ReceiveText(Text("menu", "spent-token"));
        var snapshot = await UntilHistoryAsync(channel, "U1", h => h.Kind == HistoryKind.Failed);

        var failed = Assert.Single(snapshot.History, h => h.Kind == HistoryKind.Failed);
        Assert.Contains("auto-reply 'menu'", failed.Detail);
        Assert.Contains("Rejected 400: Invalid reply token", failed.Detail);
        Assert.Single(RepliesFor(token));
        // A refused token is final: no retry.
        Assert.Equal(2, cluster.Line.Stats.Requests(token, "reply"));
    }

    [Fact]
    public async Task A_server_error_gets_one_quick_retry_and_never_a_later_one()
    {
        var (channel, token) = await ChannelWithAutoRepliesAsync();
        // Scoped to this channel's requests by counting them, as the fault applies to any reply.
        cluster.Line.Faults.Add(new FakeLineFault { StatusCode = 500, Endpoint = "reply", Count = 1 });
        try
        {
            await cluster.Friend(channel, "U1").ReceiveText(Text("menu", "after-500"));
            await UntilHistoryAsync(channel, "U1", h => h.Kind == HistoryKind.Replied);

            cluster.Line.Faults.Add(new FakeLineFault { StatusCode = 503, Endpoint = "reply", Count = 2 });
            await cluster.Friend(channel, "U2").ReceiveText(Text("menu", "after-two-503s"));
            var snapshot = await UntilHistoryAsync(channel, "U2", h => h.Kind == HistoryKind.Failed);
            await Task.Delay(1000);

            Assert.Contains("ServerError 503", Assert.Single(snapshot.History, h => h.Kind == HistoryKind.Failed).Detail);
        }
        finally
        {
            cluster.Line.Faults.Clear();
        }

        Assert.Equal(["after-500"], RepliesFor(token).Select(r => r.ReplyToken));
        Assert.Equal(4, cluster.Line.Stats.Requests(token, "reply"));
    }

    [Fact]
    public async Task Rules_are_validated_with_the_offending_path_and_a_refused_list_changes_nothing()
    {
        var (channel, _) = await ChannelWithAutoRepliesAsync();
        var grain = cluster.Grains.GetGrain<IChannelGrain>(channel);

        var problems = await grain.SetAutoReplies(
        [
            Menu,
            new AutoReplyRule { Keywords = ["ok", ""], Messages = [] },
            new AutoReplyRule { Keywords = [], Messages = [LineMessage.Text(new string('a', 5001))] },
            new AutoReplyRule { Keywords = ["six"], Messages = [.. Enumerable.Repeat(LineMessage.Text("x"), 6)] },
        ]);

        Assert.Equal(
            ["$[1].keywords[1]", "$[1].messages", "$[2].keywords", "$[2].messages[0].text", "$[3].messages"],
            problems.Select(p => p.Path));
        Assert.Equal([["hours", "営業時間"], ["menu", "hour"]], (await grain.GetAutoReplies()).Select(r => r.Keywords.ToArray()));
    }
}
