using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Stepcast.Api.Webhooks;
using Stepcast.FakeLine;
using Stepcast.Grains.Delivery;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using Stepcast.Tests.Engine;
using static Stepcast.Tests.Api.WebhookHostFactory;

namespace Stepcast.Tests.Api;

/// <summary>LINE's webhook endpoint over HTTP against the embedded host, with signed bodies as LINE sends them.</summary>
[Collection(EmbeddedHostCollection.Name)]
public sealed class WebhookApiTests(WebhookHostFactory host) : IClassFixture<WebhookHostFactory>
{
    private const string WelcomeStep = "welcome-coupon";
    private const string WeekLaterStep = "second-visit-coupon";

    private readonly HttpClient _http = host.CreateClient();

    private static string NewFriend() => "U" + Guid.NewGuid().ToString("N");

    private static string Url(string channelId) => $"/webhooks/line/{channelId}";

    private Task<HttpResponseMessage> PostAsync(LineWebhookBody body, string channelId = SandboxChannel, string? secret = SandboxSecret) =>
        _http.SendAsync(LineWebhookBody.CreateRequest(Url(channelId), body.ToUtf8Bytes(), secret));

    private Task<HttpResponseMessage> PostRawAsync(string json, string channelId = SandboxChannel, string? secret = SandboxSecret) =>
        _http.SendAsync(LineWebhookBody.CreateRequest(Url(channelId), Encoding.UTF8.GetBytes(json), secret));

    private IReadOnlyList<RecordedDelivery> DeliveriesTo(string lineUserId, string channelId = SandboxChannel) =>
        host.Deliveries.DeliveriesTo(channelId, lineUserId);

    /// <summary>Waits (bounded) until the friend has received <paramref name="stepId"/>, then a moment more for any repeat.</summary>
    private async Task<int> CountOfStepAsync(string lineUserId, string stepId, string channelId = SandboxChannel)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!DeliveriesTo(lineUserId, channelId).Any(d => d.StepId == stepId) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        await Task.Delay(300);
        return DeliveriesTo(lineUserId, channelId).Count(d => d.StepId == stepId);
    }

    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        return problem;
    }

    /// <summary>A refused request must leave no trace: no follow recorded, nothing sent.</summary>
    private async Task AssertUntouchedAsync(string lineUserId, string channelId = SandboxChannel)
    {
        var friend = await host.FriendAsync(channelId, lineUserId);
        Assert.Equal(FriendStatus.Unknown, friend.Status);
        Assert.Empty(friend.History);
        Assert.Empty(friend.Enrollments);
        Assert.Empty(DeliveriesTo(lineUserId, channelId));
    }

    [Fact]
    public async Task A_coupon_text_is_auto_replied_once_even_when_redelivered_and_the_reply_shows_at_sandbox_deliveries()
    {
        var friend = NewFriend();
        var body = new LineWebhookBody().Text(friend, "Coupon");

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(body)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(body.Redelivered())).StatusCode);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!DeliveriesTo(friend).Any(d => d.Kind == RecordedDeliveryKind.Reply) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        await Task.Delay(300);
        var deliveries = await _http.GetFromJsonAsync<JsonElement>($"/sandbox/deliveries?lineUserId={friend}");
        var reply = Assert.Single(deliveries.EnumerateArray());
        Assert.Equal("reply", reply.GetProperty("kind").GetString());
        Assert.Equal("クーポン", reply.GetProperty("keyword").GetString());
        Assert.Contains("STEPCAST10", reply.GetProperty("messages")[0].GetProperty("text").GetString());
        var history = (await host.FriendAsync(SandboxChannel, friend)).History;
        Assert.Equal("クーポン", Assert.Single(history, h => h.Kind == HistoryKind.Replied).Detail);
    }

    [Fact]
    public async Task A_signed_follow_is_acknowledged_and_the_sample_welcome_is_sent()
    {
        var friend = NewFriend();

        var response = await PostAsync(new LineWebhookBody().Follow(friend));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(FriendStatus.Following, (await host.FriendAsync(SandboxChannel, friend)).Status);
        Assert.Equal(1, await CountOfStepAsync(friend, WelcomeStep));
    }

    [Theory]
    [InlineData("x-line-signature")]
    [InlineData("X-Line-Signature")]
    [InlineData("X-LINE-SIGNATURE")]
    public async Task The_signature_header_name_is_case_insensitive(string headerName)
    {
        var friend = NewFriend();
        var body = new LineWebhookBody().Follow(friend).ToUtf8Bytes();
        var request = LineWebhookBody.CreateRequest(Url(SandboxChannel), body, channelSecret: null);
        request.Headers.TryAddWithoutValidation(headerName, LineWebhookBody.Sign(body, SandboxSecret));

        var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(FriendStatus.Following, (await host.FriendAsync(SandboxChannel, friend)).Status);
    }

    [Theory]
    [InlineData("tampered body")]
    [InlineData("wrong secret")]
    [InlineData("missing header")]
    [InlineData("empty header")]
    [InlineData("not base64")]
    [InlineData("signature of another body")]
    [InlineData("two headers")]
    public async Task A_request_without_a_valid_signature_is_refused_and_changes_nothing(string forgery)
    {
        var friend = NewFriend();
        var body = new LineWebhookBody().Follow(friend).ToUtf8Bytes();
        var signature = LineWebhookBody.Sign(body, SandboxSecret);
        var sent = body;
        string[] headers = forgery switch
        {
            "tampered body" => [signature],
            "wrong secret" => [LineWebhookBody.Sign(body, "not-the-channel-secret")],
            "missing header" => [],
            "empty header" => [""],
            "not base64" => ["this is not a signature"],
            "signature of another body" => [LineWebhookBody.Sign(new LineWebhookBody().Follow(friend).ToUtf8Bytes(), SandboxSecret)],
            "two headers" => [signature, signature],
            _ => throw new ArgumentOutOfRangeException(nameof(forgery)),
        };
        if (forgery == "tampered body")
        {
            // Same length, one user id changed: still valid JSON for a follow, but not what was signed.
            sent = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(body).Replace(friend, friend[..^1] + (friend[^1] == '0' ? '1' : '0'), StringComparison.Ordinal));
        }

        var request = LineWebhookBody.CreateRequest(Url(SandboxChannel), sent, channelSecret: null);
        foreach (var header in headers)
        {
            request.Headers.TryAddWithoutValidation("X-Line-Signature", header);
        }

        var response = await _http.SendAsync(request);

        await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        await AssertUntouchedAsync(friend);
    }

    [Fact]
    public async Task A_signed_body_on_a_channel_from_configuration_is_accepted_with_that_channels_secret()
    {
        var friend = NewFriend();

        var withSandboxSecret = await PostAsync(new LineWebhookBody().Follow(friend), TestChannel, SandboxSecret);
        var withItsSecret = await PostAsync(new LineWebhookBody().Follow(friend), TestChannel, TestSecret);

        await AssertProblemAsync(withSandboxSecret, HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.OK, withItsSecret.StatusCode);
        Assert.Equal(FriendStatus.Following, (await host.FriendAsync(TestChannel, friend)).Status);
    }

    [Fact]
    public async Task An_unknown_channel_is_not_found_and_changes_nothing()
    {
        var friend = NewFriend();

        var response = await PostAsync(new LineWebhookBody().Follow(friend), "no-such-channel", SandboxSecret);

        var problem = await AssertProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Contains("no-such-channel", problem.GetProperty("detail").GetString());
        await AssertUntouchedAsync(friend, "no-such-channel");
    }

    [Theory]
    [InlineData("""{"destination":"U1","events":[{"type":"follow","timestamp":"yesterday","source":{"type":"user","userId":"FRIEND"},"webhookEventId":"01J0000000000000000000000A"}]}""", "$.events[0].timestamp")]
    [InlineData("""{"destination":"U1","events":[{"type":"follow","timestamp":1767225600000,"source":{"type":"user","userId":"FRIEND"},"deliveryContext":{"isRedelivery":"no"}}]}""", "$.events[0].deliveryContext.isRedelivery")]
    [InlineData("""{"destination":"U1","events":[{"type":"follow","source":{"type":"user","userId":"FRIEND"}}]}""", "$.events[0].timestamp")]
    [InlineData("""{"events":[]}""", "$.destination")]
    [InlineData("""{"destination":"U1","events":{}}""", "$.events")]
    [InlineData("""[]""", "$")]
    public async Task A_malformed_body_is_a_problem_naming_the_json_path(string template, string path)
    {
        var friend = NewFriend();

        var response = await PostRawAsync(template.Replace("FRIEND", friend, StringComparison.Ordinal));

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(path, problem.GetProperty("path").GetString());
        Assert.True(problem.GetProperty("errors").TryGetProperty(path, out _));
        await AssertUntouchedAsync(friend);
    }

    [Fact]
    public async Task Truncated_json_is_a_problem_naming_where_it_broke()
    {
        var friend = NewFriend();
        var json = new LineWebhookBody().Follow(friend).ToString();

        var response = await PostRawAsync(json[..(json.Length / 2)]);

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.StartsWith("$.events[0]", problem.GetProperty("path").GetString());
        await AssertUntouchedAsync(friend);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_body_over_one_megabyte_is_refused_before_anything_else(bool declaresLength)
    {
        var friend = NewFriend();
        // Valid, correctly signed JSON: whitespace pads it past the limit, so only its size can be the reason.
        var json = new LineWebhookBody().Follow(friend).ToString();
        var body = Encoding.UTF8.GetBytes(json[..^1] + new string(' ', WebhookOptions.MaxBodyBytes) + "}");
        var request = LineWebhookBody.CreateRequest(Url(SandboxChannel), body, SandboxSecret);
        if (!declaresLength)
        {
            var headers = request.Content!.Headers;
            request.Content = new UnknownLengthContent(body);
            request.Content.Headers.ContentType = headers.ContentType;
        }

        var response = await _http.SendAsync(request);
        var unknownChannel = await _http.SendAsync(LineWebhookBody.CreateRequest(Url("no-such-channel"), body, SandboxSecret));

        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        await AssertProblemAsync(unknownChannel, HttpStatusCode.RequestEntityTooLarge);
        await AssertUntouchedAsync(friend);
    }

    [Fact]
    public async Task A_body_of_exactly_one_megabyte_is_accepted()
    {
        var friend = NewFriend();
        var json = new LineWebhookBody().Follow(friend).ToString();
        var body = Encoding.UTF8.GetBytes(json[..^1] + new string(' ', WebhookOptions.MaxBodyBytes - Encoding.UTF8.GetByteCount(json)) + "}");
        Assert.Equal(WebhookOptions.MaxBodyBytes, body.Length);

        var response = await _http.SendAsync(LineWebhookBody.CreateRequest(Url(SandboxChannel), body, SandboxSecret));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Lines_connectivity_check_with_no_events_is_acknowledged_only_when_signed()
    {
        var check = new LineWebhookBody();

        var signed = await PostAsync(check);
        var unsigned = await PostAsync(check, secret: null);

        Assert.Equal(HttpStatusCode.OK, signed.StatusCode);
        await AssertProblemAsync(unsigned, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_redelivered_follow_sends_the_welcome_once()
    {
        var friend = NewFriend();
        var body = new LineWebhookBody().Follow(friend);

        var first = await PostAsync(body);
        var redelivery = await PostAsync(body.Redelivered());

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, redelivery.StatusCode);
        Assert.Equal(1, await CountOfStepAsync(friend, WelcomeStep));
        var entered = (await host.FriendAsync(SandboxChannel, friend)).History.Count(h => h.Kind == HistoryKind.Entered && h.ScenarioId == "restaurant-welcome");
        Assert.Equal(1, entered);
    }

    [Fact]
    public async Task A_mixed_batch_reaches_each_friend_and_ignores_what_stepcast_does_not_act_on()
    {
        await PublishAsync(Scenario.Define(TestChannel, "wt-welcome", new FollowTrigger(), Scenario.Send("hello", "Welcome!")));
        await PublishAsync(Scenario.Define(TestChannel, "wt-menu", new KeywordTrigger { Keywords = ["menu"] }, Scenario.Send("menu", "Our menu")));
        await PublishAsync(Scenario.Define(TestChannel, "wt-postback", new EventTrigger { Name = WebhookDispatcher.PostbackEventName }, Scenario.Send("postback-ack", "Got it")));
        await PublishAsync(Scenario.Define(TestChannel, "wt-linked", new EventTrigger { Name = WebhookDispatcher.AccountLinkEventName }, Scenario.Send("linked", "Linked")));
        string a = NewFriend(), b = NewFriend(), c = NewFriend(), d = NewFriend(), e = NewFriend();
        var t0 = DateTimeOffset.UtcNow.AddSeconds(-1);
        var batch = new LineWebhookBody()
            .Follow(a, at: t0)
            .Event("follow", LineWebhookSource.User(b), t0, null, w =>
            {
                w.WriteStartObject("follow");
                w.WriteBoolean("isUnblocked", false);
                w.WriteString("someFieldLineAddsLater", "x");
                w.WriteEndObject();
                w.WriteStartObject("anotherNewObject");
                w.WriteNumber("level", 3);
                w.WriteEndObject();
            })
            .Text(a, "menu", at: t0.AddMilliseconds(1))
            .Sticker(a, at: t0.AddMilliseconds(2))
            .Postback(b, "action=coupon&id=7", new Dictionary<string, string> { ["date"] = "2026-05-01" }, at: t0.AddMilliseconds(1))
            .AccountLink(b, "nonce-123", at: t0.AddMilliseconds(2))
            .Event("eventTypeFromTheFuture", LineWebhookSource.User(c), t0, null, w => w.WriteString("whatever", "x"))
            .Text(LineWebhookSource.Group("Cgroup0001", d), "menu", at: t0)
            .Event("follow", LineWebhookSource.Room("Rroom0001", e), t0, null, w => w.WriteString("replyToken", "r"));

        var response = await PostAsync(batch, TestChannel, TestSecret);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, await CountOfStepAsync(a, "menu", TestChannel));
        Assert.Equal(1, await CountOfStepAsync(b, "linked", TestChannel));
        Assert.Equal(1, await CountOfStepAsync(b, "postback-ack", TestChannel));
        Assert.Equal(["hello", "menu"], DeliveriesTo(a, TestChannel).Select(x => x.StepId).Order().ToArray());
        Assert.Equal(["hello", "linked", "postback-ack"], DeliveriesTo(b, TestChannel).Select(x => x.StepId).Order().ToArray());
        Assert.Equal(FriendStatus.Following, (await host.FriendAsync(TestChannel, a)).Status);
        Assert.Equal(FriendStatus.Following, (await host.FriendAsync(TestChannel, b)).Status);
        await AssertUntouchedAsync(c, TestChannel);
        await AssertUntouchedAsync(d, TestChannel);
        await AssertUntouchedAsync(e, TestChannel);
    }

    [Fact]
    public async Task After_an_unfollow_nothing_more_is_sent()
    {
        string blocking = NewFriend(), staying = NewFriend();
        await PostAsync(new LineWebhookBody().Follow(blocking).Follow(staying));
        Assert.Equal(1, await CountOfStepAsync(blocking, WelcomeStep));

        var unfollow = await PostAsync(new LineWebhookBody().Unfollow(blocking));
        var unfollowStoredAt = DateTimeOffset.UtcNow;

        Assert.Equal(HttpStatusCode.OK, unfollow.StatusCode);
        Assert.Equal(FriendStatus.Blocked, (await host.FriendAsync(SandboxChannel, blocking)).Status);
        // The friend who stayed gets the week-later coupon, so the wait has certainly passed for both.
        Assert.Equal(1, await CountOfStepAsync(staying, WeekLaterStep));
        // A compressed week is 0.7 s: on a loaded machine the coupon may go out before the unfollow arrives, which is
        // right. Once the unfollow is answered, nothing more.
        Assert.DoesNotContain(DeliveriesTo(blocking), d => d.StepId == WeekLaterStep && d.SentAt > unfollowStoredAt);
    }

    [Fact]
    public async Task Events_of_a_friend_are_applied_in_timestamp_order_not_body_order()
    {
        var friend = NewFriend();
        var t0 = DateTimeOffset.UtcNow.AddSeconds(-5);
        // Body order says follow then block; the timestamps say the block came first and the follow is an unblock.
        var body = new LineWebhookBody().Follow(friend, isUnblocked: true, at: t0.AddSeconds(1)).Unfollow(friend, at: t0);

        var response = await PostAsync(body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var snapshot = await host.FriendAsync(SandboxChannel, friend);
        Assert.Equal(FriendStatus.Following, snapshot.Status);
        Assert.Equal([HistoryKind.Blocked, HistoryKind.Unblocked], snapshot.History.Where(h => h.Kind is HistoryKind.Blocked or HistoryKind.Unblocked).Select(h => h.Kind));
        Assert.Equal(1, await CountOfStepAsync(friend, WelcomeStep));
    }

    [Fact]
    public async Task With_friend_storage_down_the_webhook_answers_503_and_the_redelivery_sends_the_welcome_once()
    {
        var friend = NewFriend();
        var body = new LineWebhookBody().Follow(friend);
        HttpResponseMessage duringOutage;
        try
        {
            host.FriendStorageFaults.FailWrites = true;
            duringOutage = await PostAsync(body);
        }
        finally
        {
            host.FriendStorageFaults.Clear();
        }

        await AssertProblemAsync(duringOutage, HttpStatusCode.ServiceUnavailable);
        await Task.Delay(300);
        await AssertUntouchedAsync(friend);

        var redelivery = await PostAsync(body.Redelivered());

        Assert.Equal(HttpStatusCode.OK, redelivery.StatusCode);
        Assert.Equal(1, await CountOfStepAsync(friend, WelcomeStep));
    }

    [Fact]
    public async Task A_webhook_that_cannot_be_stored_within_the_handling_timeout_answers_503()
    {
        // The write takes longer than the handling timeout (1.5 s), so the answer cannot wait for it; how fast the
        // 503 comes is measured in benchmarks, not asserted here.
        var friend = NewFriend();
        var body = new LineWebhookBody().Follow(friend);
        HttpResponseMessage slow;
        try
        {
            host.FriendStorageFaults.WriteDelay = TimeSpan.FromSeconds(3);
            slow = await PostAsync(body);
        }
        finally
        {
            host.FriendStorageFaults.Clear();
        }

        await AssertProblemAsync(slow, HttpStatusCode.ServiceUnavailable);

        // The slow write does finish; LINE's redelivery then finds the follow applied and changes nothing.
        Assert.Equal(1, await CountOfStepAsync(friend, WelcomeStep));
        var redelivery = await PostAsync(body.Redelivered());
        Assert.Equal(HttpStatusCode.OK, redelivery.StatusCode);
        Assert.Equal(1, await CountOfStepAsync(friend, WelcomeStep));
    }

    [Fact]
    public async Task The_embedded_host_sends_a_welcome_with_no_reminder_behind_it_as_its_reminders_would_die_with_its_state()
    {
        var friend = NewFriend();

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(new LineWebhookBody().Follow(friend))).StatusCode);

        Assert.Equal(1, await CountOfStepAsync(friend, WelcomeStep));
        var grain = host.Grains.GetFriend(SandboxChannel, friend).GetGrainId();
        Assert.DoesNotContain(grain, host.Reminders.Stored);
    }

    [Fact]
    public async Task A_friend_whose_write_failed_on_the_embedded_host_is_woken_a_retry_period_later()
    {
        var friend = NewFriend();
        HttpResponseMessage duringOutage;
        try
        {
            host.FriendStorageFaults.FailWrites = true;
            duringOutage = await PostAsync(new LineWebhookBody().Follow(friend));
        }
        finally
        {
            host.FriendStorageFaults.Clear();
        }

        await AssertProblemAsync(duringOutage, HttpStatusCode.ServiceUnavailable);
        // With no reminder stored before the write, the activation leaving after it stores one on its way out.
        var grain = host.Grains.GetFriend(SandboxChannel, friend).GetGrainId();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while ((await host.Reminders.ReadRows(grain)).Reminders.Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        var reminder = Assert.Single((await host.Reminders.ReadRows(grain)).Reminders);
        Assert.Equal(TimeSpan.FromMinutes(1), reminder.Period);
    }

    private async Task PublishAsync(ScenarioDefinition scenario)
    {
        var grain = host.Grains.GetGrain<IScenarioGrain>(ScenarioKey.Format(scenario.ChannelId, scenario.Id));
        Assert.Empty(await grain.SaveDraft(scenario));
        Assert.True((await grain.Publish()).Published);
    }

    /// <summary>A body sent without Content-Length, as a chunked request would be.</summary>
    private sealed class UnknownLengthContent(byte[] body) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => stream.WriteAsync(body).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
