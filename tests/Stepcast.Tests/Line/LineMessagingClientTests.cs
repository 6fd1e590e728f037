using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Stepcast.FakeLine;
using Stepcast.Grains.Line;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Tests.Line;

public sealed class LineMessagingClientTests(FakeLineServerFixture fixture) : IClassFixture<FakeLineServerFixture>
{
    private static readonly LineMessage[] Hello = [LineMessage.Text("Hello")];

    private readonly LineMessagingClient _client = fixture.CreateClient();

    private FakeLineServer Server => fixture.Server;

    private static string NewToken() => "token-" + Guid.NewGuid().ToString("N");

    private IReadOnlyList<FakeLineDelivery> DeliveriesOf(string token) =>
        Server.Deliveries.Snapshot().Where(d => d.ChannelAccessToken == token).ToList();

    [Fact]
    public async Task Push_is_accepted_and_recorded_with_its_retry_key_and_messages()
    {
        var token = NewToken();
        var retryKey = Guid.NewGuid();

        var result = await _client.PushAsync(token, new LinePushRequest("U1", Hello), retryKey);

        Assert.Equal(LineResultKind.Accepted, result.Kind);
        Assert.Equal(200, result.StatusCode);
        Assert.False(string.IsNullOrEmpty(result.RequestId));
        Assert.Single(result.SentMessages);
        var delivery = Assert.Single(DeliveriesOf(token));
        Assert.Equal("push", delivery.Endpoint);
        Assert.Equal(["U1"], delivery.Recipients);
        Assert.Equal(retryKey.ToString("D"), delivery.RetryKey);
        Assert.Equal(result.RequestId, delivery.RequestId);
        var messages = JsonDocument.Parse(delivery.MessagesJson).RootElement;
        Assert.Equal("Hello", messages[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Replaying_a_retry_key_is_already_accepted_and_recorded_once()
    {
        var token = NewToken();
        var retryKey = Guid.NewGuid();
        var request = new LinePushRequest("U1", Hello);

        var first = await _client.PushAsync(token, request, retryKey);
        var second = await _client.PushAsync(token, request, retryKey);

        Assert.Equal(LineResultKind.Accepted, first.Kind);
        Assert.Equal(LineResultKind.AlreadyAccepted, second.Kind);
        Assert.Equal(409, second.StatusCode);
        Assert.Equal(first.RequestId, second.AcceptedRequestId);
        Assert.True(second.IsSuccess);
        Assert.Single(DeliveriesOf(token));
    }

    [Fact]
    public async Task Response_lost_after_acceptance_is_a_server_error_and_the_retry_is_already_accepted()
    {
        var token = NewToken();
        var retryKey = Guid.NewGuid();
        var request = new LineMulticastRequest(["U1", "U2"], Hello);
        Server.Faults.Add(new FakeLineFault { StatusCode = 502, AfterRecording = true, Endpoint = "multicast" });

        var lost = await _client.MulticastAsync(token, request, retryKey);
        var retried = await _client.MulticastAsync(token, request, retryKey);

        Assert.Equal(LineResultKind.ServerError, lost.Kind);
        Assert.True(lost.IsRetryable);
        Assert.Equal(LineResultKind.AlreadyAccepted, retried.Kind);
        Assert.Equal(["U1", "U2"], Assert.Single(DeliveriesOf(token)).Recipients);
    }

    [Fact]
    public async Task Monthly_limit_is_quota_exceeded_not_rate_limited()
    {
        var token = NewToken();
        Server.SetMonthlyQuota(token, 1);

        var first = await _client.PushAsync(token, new LinePushRequest("U1", Hello), Guid.NewGuid());
        var second = await _client.PushAsync(token, new LinePushRequest("U2", Hello), Guid.NewGuid());

        Assert.Equal(LineResultKind.Accepted, first.Kind);
        Assert.Equal(LineResultKind.QuotaExceeded, second.Kind);
        Assert.Equal(429, second.StatusCode);
        Assert.Equal(LineMessagingClient.MonthlyLimitMessage, second.ErrorMessage);
        Assert.False(second.IsRetryable);
        Assert.Single(DeliveriesOf(token));
    }

    [Fact]
    public async Task Per_second_rate_limit_is_rate_limited_with_retry_after()
    {
        // A frozen clock keeps both requests in the same one-second window.
        await using var server = await FakeLineServer.StartAsync(new FakeLineOptions
        {
            RateLimitPerSecond = 1,
            TimeProvider = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-15T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture)),
        });
        var client = FakeLineServerFixture.CreateClient(server.BaseUrl);
        var token = NewToken();

        var first = await client.PushAsync(token, new LinePushRequest("U1", Hello), Guid.NewGuid());
        var second = await client.PushAsync(token, new LinePushRequest("U1", Hello), Guid.NewGuid());

        Assert.Equal(LineResultKind.Accepted, first.Kind);
        Assert.Equal(LineResultKind.RateLimited, second.Kind);
        Assert.Equal(TimeSpan.FromSeconds(1), second.RetryAfter);
        Assert.True(second.IsRetryable);
    }

    [Fact]
    public async Task Six_messages_are_rejected_with_lines_message_and_details()
    {
        var token = NewToken();
        var six = Enumerable.Range(1, 6).Select(i => LineMessage.Text($"m{i}")).ToArray();

        var result = await _client.PushAsync(token, new LinePushRequest("U1", six), Guid.NewGuid());

        Assert.Equal(LineResultKind.Rejected, result.Kind);
        Assert.Equal(400, result.StatusCode);
        Assert.Equal("The request body has 1 error(s)", result.ErrorMessage);
        Assert.Equal("messages", Assert.Single(result.ErrorDetails).Property);
        Assert.Empty(DeliveriesOf(token));
    }

    [Fact]
    public async Task Multicast_to_501_friends_is_rejected()
    {
        var token = NewToken();
        var to = Enumerable.Range(0, 501).Select(i => $"U{i}").ToArray();

        var result = await _client.MulticastAsync(token, new LineMulticastRequest(to, Hello), Guid.NewGuid());

        Assert.Equal(LineResultKind.Rejected, result.Kind);
        Assert.Equal("to", Assert.Single(result.ErrorDetails).Property);
    }

    [Fact]
    public async Task Server_error_before_acceptance_is_a_server_error_and_nothing_is_recorded()
    {
        var token = NewToken();
        Server.Faults.Add(new FakeLineFault { StatusCode = 500, Endpoint = "broadcast" });

        var result = await _client.BroadcastAsync(token, new LineBroadcastRequest(Hello), Guid.NewGuid());

        Assert.Equal(LineResultKind.ServerError, result.Kind);
        Assert.Equal(500, result.StatusCode);
        Assert.Empty(DeliveriesOf(token));
    }

    [Fact]
    public async Task A_call_that_gets_no_turn_within_the_timeout_is_not_sent_and_never_reaches_line()
    {
        var options = Options.Create(new LineClientOptions
        {
            ApiBaseUrl = new Uri(Server.BaseUrl),
            DataApiBaseUrl = new Uri(Server.BaseUrl),
            Timeout = TimeSpan.FromMilliseconds(300),
            MaxConnections = 1,
        });
        var gate = new LineConnectionGate(options);
        var client = new LineMessagingClient(new HttpClient(), options, gate: gate);
        var token = NewToken();

        // Another call holds the only turn.
        Assert.True(await gate.EnterAsync(CancellationToken.None));
        var waited = await client.PushAsync(token, new LinePushRequest("U1", Hello), Guid.NewGuid());
        Assert.Equal(LineResultKind.NotSent, waited.Kind);
        Assert.True(waited.IsRetryable);
        Assert.Empty(DeliveriesOf(token));

        // Once it is free, calls go out one after another: each gives its turn back.
        gate.Leave();
        Assert.Equal(LineResultKind.Accepted, (await client.PushAsync(token, new LinePushRequest("U1", Hello), Guid.NewGuid())).Kind);
        Assert.Equal(LineResultKind.Accepted, (await client.PushAsync(token, new LinePushRequest("U2", Hello), Guid.NewGuid())).Kind);
        Assert.Equal(2, DeliveriesOf(token).Count);
    }

    [Fact]
    public async Task Hanging_server_is_a_timeout_result()
    {
        var client = fixture.CreateClient(timeout: TimeSpan.FromMilliseconds(300));
        Server.Faults.Add(new FakeLineFault { Kind = FakeLineFaultKind.Hang, Endpoint = "reply", HangDuration = TimeSpan.FromMinutes(1) });

        var result = await client.ReplyAsync(NewToken(), new LineReplyRequest("reply-token", Hello));

        Assert.Equal(LineResultKind.Timeout, result.Kind);
        Assert.Null(result.StatusCode);
        Assert.True(result.IsRetryable);
    }

    [Fact]
    public async Task Unreachable_server_is_a_network_error_result()
    {
        // A port bound but never listened on refuses connections, and, held for the whole test, cannot be taken by
        // another process (a silo or Kestrel picking a free port) the way a port released after probing could.
        using var bound = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        bound.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var port = ((System.Net.IPEndPoint)bound.LocalEndPoint!).Port;

        var client = FakeLineServerFixture.CreateClient($"http://127.0.0.1:{port}");

        var result = await client.PushAsync(NewToken(), new LinePushRequest("U1", Hello), Guid.NewGuid());

        Assert.Equal(LineResultKind.NetworkError, result.Kind);
    }

    [Fact]
    public async Task Caller_cancellation_throws_instead_of_becoming_a_result()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => _client.PushAsync(NewToken(), new LinePushRequest("U1", Hello), Guid.NewGuid(), cancelled.Token));
    }

    [Fact]
    public async Task Missing_token_is_rejected_by_the_fake_as_unauthorized()
    {
        using var http = new HttpClient();
        using var content = new StringContent("""{"to":"U1","messages":[{"type":"text","text":"x"}]}""", System.Text.Encoding.UTF8, "application/json");

        using var response = await http.PostAsync(Server.BaseUrl + "/v2/bot/message/push", content);

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Reply_and_narrowcast_are_recorded_and_narrowcast_progress_is_readable()
    {
        var token = NewToken();

        var reply = await _client.ReplyAsync(token, new LineReplyRequest("reply-1", Hello) { NotificationDisabled = true });
        var narrowcast = await _client.NarrowcastAsync(
            token,
            new LineNarrowcastRequest(Hello) { Recipient = LineNarrowcastRequest.AudienceRecipient(42), Limit = new LineNarrowcastLimit { Max = 10 } },
            Guid.NewGuid());
        var progress = await _client.GetNarrowcastProgressAsync(token, narrowcast.RequestId!);

        Assert.Equal(LineResultKind.Accepted, reply.Kind);
        Assert.Equal(202, narrowcast.StatusCode);
        Assert.True(progress.IsSuccess);
        Assert.Equal("succeeded", progress.Value!.Phase);
        Assert.Equal(["reply", "narrowcast"], DeliveriesOf(token).Select(d => d.Endpoint));
        Assert.Equal("reply-1", DeliveriesOf(token)[0].ReplyToken);
    }

    [Fact]
    public async Task Profile_quota_consumption_and_audience_upload_are_read()
    {
        var token = NewToken();
        Server.SetMonthlyQuota(token, 1000);
        await _client.MulticastAsync(token, new LineMulticastRequest(["U1", "U2", "U3"], Hello), Guid.NewGuid());

        var profile = await _client.GetProfileAsync(token, "U1");
        var quota = await _client.GetMessageQuotaAsync(token);
        var consumption = await _client.GetMessageQuotaConsumptionAsync(token);
        var audience = await _client.CreateAudienceGroupAsync(token, new LineCreateAudienceGroupRequest("step 3 segment", ["U1", "U2"]));

        Assert.Equal("U1", profile.Value!.UserId);
        Assert.Equal(new LineMessageQuota("limited", 1000), quota.Value);
        Assert.True(quota.Value!.IsLimited);
        Assert.Equal(3, consumption.Value!.TotalUsage);
        Assert.True(audience.IsSuccess);
        Assert.Equal(["U1", "U2"], Server.AudienceGroups[audience.Value!.AudienceGroupId]);
    }
}
