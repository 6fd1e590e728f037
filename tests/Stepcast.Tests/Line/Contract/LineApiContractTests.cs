using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Stepcast.Grains.Line;
using Stepcast.Grains.Scenarios;

namespace Stepcast.Tests.Line.Contract;

/// <summary>
/// Every request the LINE client builds, checked by Prism against LINE's official OpenAPI specs. Needs
/// <c>npm ci --prefix tests/contract</c>; fails (does not skip) when Prism is missing.
/// </summary>
public sealed class LineApiContractTests(PrismFixture prism) : IClassFixture<PrismFixture>
{
    private const string Token = "contract-test-token";

    private static readonly LineMessage[] Messages =
    [
        LineMessage.Text("Welcome! Step 1 of 3"),
        new("""{"type":"sticker","packageId":"446","stickerId":"1988"}"""),
        new("""{"type":"image","originalContentUrl":"https://example.com/a.jpg","previewImageUrl":"https://example.com/a-preview.jpg"}"""),
    ];

    private readonly ViolationRecorder _violations = new();

    [ContractFact]
    public async Task Push_with_retry_key_matches_the_spec()
    {
        var request = new LinePushRequest("U4af4980629a1b2c3d4e5f6a7b8c9d0e1", Messages)
        {
            NotificationDisabled = true,
            CustomAggregationUnits = ["step_1"],
        };

        AssertAccepted(await Client().PushAsync(Token, request, Guid.NewGuid()));
    }

    [ContractFact]
    public async Task Multicast_with_retry_key_matches_the_spec()
    {
        var request = new LineMulticastRequest(["U4af4980629a1b2c3d4e5f6a7b8c9d0e1", "U4af4980629a1b2c3d4e5f6a7b8c9d0e2"], Messages)
        {
            CustomAggregationUnits = ["step_1"],
        };

        AssertAccepted(await Client().MulticastAsync(Token, request, Guid.NewGuid()));
    }

    [ContractFact]
    public async Task Reply_matches_the_spec() =>
        AssertAccepted(await Client().ReplyAsync(Token, new LineReplyRequest("nHuyWiB7yP5Zw52FIkcQobQuGDXCTA", Messages)));

    [ContractFact]
    public async Task Broadcast_matches_the_spec() =>
        AssertAccepted(await Client().BroadcastAsync(Token, new LineBroadcastRequest(Messages) { NotificationDisabled = true }, Guid.NewGuid()));

    [ContractFact]
    public async Task Narrowcast_with_audience_filter_and_limit_matches_the_spec()
    {
        using var filter = JsonDocument.Parse("""{"demographic":{"type":"gender","oneOf":["female"]}}""");
        var request = new LineNarrowcastRequest(Messages)
        {
            Recipient = LineNarrowcastRequest.AudienceRecipient(1234567890123),
            Filter = filter.RootElement.Clone(),
            Limit = new LineNarrowcastLimit { Max = 100, UpToRemainingQuota = true, ForbidPartialDelivery = true },
        };

        AssertAccepted(await Client().NarrowcastAsync(Token, request, Guid.NewGuid()));
    }

    [ContractFact]
    public async Task Narrowcast_progress_matches_the_spec()
    {
        var result = await Client().GetNarrowcastProgressAsync(Token, "7f6ad8a5-7b1c-4a5e-9d6f-0a1b2c3d4e5f");

        AssertAccepted(result.Outcome);
        Assert.False(string.IsNullOrEmpty(result.Value?.Phase));
    }

    [ContractFact]
    public async Task Profile_matches_the_spec()
    {
        var result = await Client().GetProfileAsync(Token, "U4af4980629a1b2c3d4e5f6a7b8c9d0e1");

        AssertAccepted(result.Outcome);
        Assert.False(string.IsNullOrEmpty(result.Value?.DisplayName));
    }

    [ContractFact]
    public async Task Quota_and_consumption_match_the_spec()
    {
        var quota = await Client().GetMessageQuotaAsync(Token);
        var consumption = await Client().GetMessageQuotaConsumptionAsync(Token);

        AssertAccepted(quota.Outcome);
        AssertAccepted(consumption.Outcome);
        Assert.NotNull(quota.Value);
        Assert.NotNull(consumption.Value);
    }

    [ContractFact]
    public async Task Audience_upload_matches_the_manage_audience_spec()
    {
        var request = new LineCreateAudienceGroupRequest("Stepcast step 3 segment", ["U4af4980629a1b2c3d4e5f6a7b8c9d0e1"])
        {
            UploadDescription = "initial upload",
        };

        var result = await Client(prism.ManageAudienceBaseUrl).CreateAudienceGroupAsync(Token, request);

        AssertAccepted(result.Outcome);
        Assert.NotEqual(0, result.Value?.AudienceGroupId);
    }

    [ContractFact]
    public async Task Prism_really_validates_six_messages_are_rejected()
    {
        // Guards the other tests: if Prism stopped validating, they would pass vacuously.
        var six = Enumerable.Repeat(LineMessage.Text("x"), 6).ToArray();

        var result = await Client().PushAsync(Token, new LinePushRequest("U1", six), Guid.NewGuid());

        Assert.Equal(LineResultKind.Rejected, result.Kind);
        Assert.NotEmpty(_violations.All);
    }

    private LineMessagingClient Client(string? baseUrl = null)
    {
        var url = new Uri(baseUrl ?? prism.MessagingApiBaseUrl);
        return new LineMessagingClient(
            new HttpClient(_violations),
            Options.Create(new LineClientOptions { ApiBaseUrl = url, DataApiBaseUrl = url, Timeout = TimeSpan.FromSeconds(30) }));
    }

    private void AssertAccepted(LineSendResult result)
    {
        Assert.True(
            result.Kind == LineResultKind.Accepted && _violations.All.Count == 0,
            $"Prism answered {result.StatusCode} ({result.Kind}) with violations: {string.Join("; ", _violations.All)}");
    }

    /// <summary>Collects Prism's <c>sl-violations</c> headers, which list each way a request broke the spec.</summary>
    private sealed class ViolationRecorder() : DelegatingHandler(new HttpClientHandler())
    {
        private readonly ConcurrentQueue<string> _violations = new();

        public IReadOnlyCollection<string> All => _violations;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (response.Headers.TryGetValues("sl-violations", out var values))
            {
                foreach (var value in values)
                {
                    _violations.Enqueue($"{request.Method} {request.RequestUri!.AbsolutePath}: {value}");
                }
            }

            return response;
        }
    }
}
