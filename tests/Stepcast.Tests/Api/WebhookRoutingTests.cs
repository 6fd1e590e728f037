using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Stepcast.Api.Webhooks;
using Stepcast.FakeLine;
using Stepcast.Grains.Channels;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Line.Webhooks;
using Stepcast.Silo;

namespace Stepcast.Tests.Api;

/// <summary>Which friend command each webhook event becomes, without a host.</summary>
public sealed class WebhookRoutingTests
{
    private static readonly DateTimeOffset At = new(2026, 5, 1, 3, 0, 0, TimeSpan.Zero);

    private static (string LineUserId, object Command)? Route(LineWebhookBody body) =>
        WebhookDispatcher.ToFriendCommand(Assert.Single(WebhookParser.Parse(body.ToUtf8Bytes()).Events));

    [Fact]
    public void A_follow_carries_the_event_id_timestamp_and_unblock_flag()
    {
        var body = new LineWebhookBody().Follow("U1", isUnblocked: true, at: At);

        var (lineUserId, command) = Route(body)!.Value;

        Assert.Equal("U1", lineUserId);
        var follow = Assert.IsType<FollowCommand>(command);
        Assert.Equal(body.Events[0].WebhookEventId, follow.EventId);
        Assert.Equal(At, follow.At);
        Assert.True(follow.IsUnblocked);
    }

    [Fact]
    public void A_postback_becomes_a_postback_event_with_its_data_and_params()
    {
        var body = new LineWebhookBody().Postback("U1", "action=buy", new Dictionary<string, string> { ["date"] = "2026-05-01" }, At);

        var command = Assert.IsType<FriendEventCommand>(Route(body)!.Value.Command);

        Assert.Equal("postback", command.Name);
        Assert.Equal("action=buy", command.Properties["data"]);
        Assert.Equal("2026-05-01", command.Properties["date"]);
    }

    [Fact]
    public void An_account_link_becomes_an_account_link_event_with_result_and_nonce()
    {
        var command = Assert.IsType<FriendEventCommand>(Route(new LineWebhookBody().AccountLink("U1", "n-1", "failed"))!.Value.Command);

        Assert.Equal("account_link", command.Name);
        Assert.Equal("failed", command.Properties["result"]);
        Assert.Equal("n-1", command.Properties["nonce"]);
    }

    [Fact]
    public void A_text_in_standby_mode_comes_without_a_reply_token()
    {
        var active = new LineWebhookBody().Text("U1", "hi");
        var standby = new LineWebhookBody().Event("message", LineWebhookSource.User("U1"), At, null, w =>
        {
            w.WriteString("replyToken", "token");
            w.WriteStartObject("message");
            w.WriteString("id", "1");
            w.WriteString("type", "text");
            w.WriteString("text", "hi");
            w.WriteEndObject();
        }, mode: "standby");

        Assert.NotNull(Assert.IsType<TextMessageCommand>(Route(active)!.Value.Command).ReplyToken);
        Assert.Null(Assert.IsType<TextMessageCommand>(Route(standby)!.Value.Command).ReplyToken);
    }

    public static TheoryData<string> Ignored => ["group text", "room follow", "user without id", "sticker", "unknown type", "join"];

    [Theory]
    [MemberData(nameof(Ignored))]
    public void Events_stepcast_does_not_act_on_are_not_routed(string kind)
    {
        var body = kind switch
        {
            "group text" => new LineWebhookBody().Text(LineWebhookSource.Group("C1", "U1"), "menu"),
            "room follow" => new LineWebhookBody().Event("follow", LineWebhookSource.Room("R1", "U1"), At, null, null),
            "user without id" => new LineWebhookBody().Event("unfollow", new LineWebhookSource("user", null), At, null, null),
            "sticker" => new LineWebhookBody().Sticker("U1"),
            "unknown type" => new LineWebhookBody().Event("somethingNew", LineWebhookSource.User("U1"), At, null, null),
            "join" => new LineWebhookBody().Event("join", LineWebhookSource.Group("C1"), At, null, w => w.WriteString("replyToken", "t")),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        Assert.Null(Route(body));
    }

    [Theory]
    [InlineData(null, "secret", "ChannelId is required")]
    [InlineData("a/b", "secret", "ChannelId is required")]
    [InlineData("ch", null, "ChannelSecret is required")]
    public async Task A_configured_channel_without_an_id_or_secret_stops_the_start(string? channelId, string? secret, string message)
    {
        var options = new ChannelBootstrapOptions();
        options.Channels.Add(new ChannelRegistration { ChannelId = "fine", ChannelSecret = "s" });
        options.Channels.Add(new ChannelRegistration { ChannelId = channelId, ChannelSecret = secret });
        // Validation runs before any channel is written, so no grain factory is needed.
        var bootstrapper = new ChannelBootstrapper(new ChannelSettingsCache(null!, TimeProvider.System), null!, Options.Create(options), TimeProvider.System, NullLogger<ChannelBootstrapper>.Instance);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => bootstrapper.StartAsync(CancellationToken.None));

        Assert.Contains("Stepcast:Channels:1:", error.Message);
        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData("no keywords", "Stepcast:Channels:0:AutoReplies:1:Keywords: At least one keyword is required.")]
    [InlineData("blank keyword", "Stepcast:Channels:0:AutoReplies:1:Keywords:1: A keyword cannot be empty.")]
    [InlineData("no messages", "Stepcast:Channels:0:AutoReplies:1:Messages: A reply sends 1 to 5 messages, not 0.")]
    [InlineData("six messages", "Stepcast:Channels:0:AutoReplies:1:Messages: A reply sends 1 to 5 messages, not 6.")]
    [InlineData("long text", "Stepcast:Channels:0:AutoReplies:1:Messages:0:Text: Text must be 1 to 5000 characters, not 5001.")]
    [InlineData("image", "Stepcast:Channels:0:AutoReplies:1:Messages:0:Type 'image': only text messages")]
    [InlineData("bad match", "Stepcast:Channels:0:AutoReplies:1:Match 'regex' must be exact or contains.")]
    public async Task An_invalid_configured_auto_reply_stops_the_start_naming_its_key(string fault, string message)
    {
        var good = new AutoReplyRegistration();
        good.Keywords.Add("hello");
        good.Messages.Add(new AutoReplyMessageRegistration { Text = "Hi!" });
        var bad = new AutoReplyRegistration { Match = fault == "bad match" ? "regex" : "contains" };
        bad.Keywords.AddRange(fault switch
        {
            "no keywords" => [],
            "blank keyword" => ["menu", " "],
            _ => ["menu"],
        });
        bad.Messages.AddRange(fault switch
        {
            "no messages" => [],
            "six messages" => Enumerable.Range(1, 6).Select(i => new AutoReplyMessageRegistration { Text = $"{i}" }),
            "long text" => [new AutoReplyMessageRegistration { Text = new string('a', 5001) }],
            "image" => [new AutoReplyMessageRegistration { Type = "image", Text = "x" }],
            _ => [new AutoReplyMessageRegistration { Text = "Today's menu" }],
        });
        var channel = new ChannelRegistration { ChannelId = "ch", ChannelSecret = "s" };
        channel.AutoReplies.AddRange([good, bad]);
        var options = new ChannelBootstrapOptions();
        options.Channels.Add(channel);
        var bootstrapper = new ChannelBootstrapper(new ChannelSettingsCache(null!, TimeProvider.System), null!, Options.Create(options), TimeProvider.System, NullLogger<ChannelBootstrapper>.Instance);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => bootstrapper.StartAsync(CancellationToken.None));

        Assert.Contains(message, error.Message);
    }
}
