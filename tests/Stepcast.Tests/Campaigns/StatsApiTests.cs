using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Stepcast.Grains.Friends;
using Stepcast.Grains.Scenarios;
using Stepcast.Tests.Api;
using static Stepcast.Tests.Campaigns.CampaignHostFactory;

namespace Stepcast.Tests.Campaigns;

/// <summary>Scenario stats and click tracking through HTTP, after a campaign ran a scenario on the embedded host.</summary>
[Collection(EmbeddedHostCollection.Name)]
public sealed class StatsApiTests(CampaignHostFactory host) : IClassFixture<CampaignHostFactory>, IAsyncLifetime
{
    private const string ShopUrl = "https://shop.example.com/sale?from=line";
    private const string TextUrl = "https://shop.example.com/news";

    private HttpClient _http = null!;

    public async Task InitializeAsync() => _http = await host.ClientAsync();

    public Task DisposeAsync()
    {
        _http.Dispose();
        return Task.CompletedTask;
    }

    private static ScenarioDefinition TrackedScenario(string channelId) => CampaignScenario(channelId) with
    {
        ConversionEvent = "purchased",
        Steps =
        [
            new SendStep
            {
                Id = "hello",
                TrackClicks = true,
                Messages =
                [
                    LineMessage.Text($"Sale news: {TextUrl} today"),
                    new LineMessage($$$"""{"type":"template","altText":"Sale","template":{"type":"buttons","text":"Spring sale","actions":[{"type":"uri","label":"Shop","uri":"{{{ShopUrl}}}"}]}}"""),
                ],
            },
            new WaitStep { Id = "a-month", Days = 30 },
            new SendStep { Id = "reminder", Messages = [LineMessage.Text("Last days of the sale")] },
        ],
    };

    private async Task<JsonElement> StatsAsync(string channelId, Func<JsonElement, bool> done) =>
        await EventuallyAsync(() => _http.GetFromJsonAsync<JsonElement>($"/api/v1/channels/{channelId}/scenarios/spring-sale/stats"), done);

    private static JsonElement Step(JsonElement stats, string stepId) =>
        stats.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("stepId").GetString() == stepId);

    [Fact]
    public async Task Stats_count_entered_sent_blocked_within_a_day_conversions_and_clicks_per_step()
    {
        var channel = await host.NewChannelAsync("stats");
        await host.PublishAsync(TrackedScenario(channel));
        var friends = await host.FollowersAsync(channel, 3);
        var upload = await _http.PostAsync($"/api/v1/channels/{channel}/campaigns?scenarioId=spring-sale", Ndjson(friends.Select(id => $"\"{id}\"")));
        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        var sent = await StatsAsync(channel, s => Step(s, "hello").GetProperty("sent").GetInt64() == 3);

        // One friend leaves right after the message, one buys, one follows the shop link.
        await host.Grains.GetFriend(channel, friends[0]).Unfollow(new UnfollowCommand { At = DateTimeOffset.UtcNow });
        await host.Grains.GetFriend(channel, friends[1]).RecordEvent(new FriendEventCommand { At = DateTimeOffset.UtcNow, Name = "purchased" });
        var delivered = host.Services.GetRequiredService<Stepcast.Grains.Delivery.SandboxDeliveryRecorder>()
            .DeliveriesTo(channel, friends[2]).Single(d => d.StepId == "hello");
        var text = JsonDocument.Parse(delivered.Messages[0].Json).RootElement.GetProperty("text").GetString()!;
        var shopLink = JsonDocument.Parse(delivered.Messages[1].Json).RootElement
            .GetProperty("template").GetProperty("actions")[0].GetProperty("uri").GetString()!;
        var click = await _http.GetAsync(new Uri(shopLink).PathAndQuery);
        var stats = await StatsAsync(channel, s => Step(s, "hello").GetProperty("clicked").GetInt64() == 1
            && Step(s, "hello").GetProperty("converted").GetInt64() == 1 && Step(s, "hello").GetProperty("blockedWithin24h").GetInt64() == 1);

        Assert.Equal(3, sent.GetProperty("entered").GetInt64());
        Assert.Equal(3, Step(sent, "hello").GetProperty("entered").GetInt64());
        Assert.Equal(["hello", "a-month", "reminder"], stats.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("stepId").GetString()));
        Assert.Equal(1, Step(stats, "hello").GetProperty("blockedWithin24h").GetInt64());
        Assert.Equal(1, Step(stats, "hello").GetProperty("converted").GetInt64());
        Assert.Equal(1, Step(stats, "hello").GetProperty("clicked").GetInt64());
        Assert.Equal(1, stats.GetProperty("converted").GetInt64());

        Assert.Matches($"^Sale news: {CampaignHostFactory.PublicBaseUrl}/r/[A-Za-z0-9_-]+ today$", text);
        Assert.StartsWith($"{CampaignHostFactory.PublicBaseUrl}/r/", shopLink);
        Assert.Equal(HttpStatusCode.Redirect, click.StatusCode);
        Assert.Equal(ShopUrl, click.Headers.Location?.OriginalString);
        var history = (await host.Grains.GetFriend(channel, friends[2]).GetSnapshot()).History;
        Assert.Contains(history, h => h.Kind == HistoryKind.Clicked && h.StepId == "hello" && h.Detail == ShopUrl);
    }

    [Fact]
    public async Task Active_runs_count_friends_waiting_for_each_step_but_not_blocked_ones()
    {
        var channel = await host.NewChannelAsync("active");
        await host.PublishAsync(TrackedScenario(channel));
        var friends = await host.FollowersAsync(channel, 3);
        await _http.PostAsync($"/api/v1/channels/{channel}/campaigns?scenarioId=spring-sale", Ndjson(friends.Select(id => $"\"{id}\"")));
        await StatsAsync(channel, s => Step(s, "hello").GetProperty("sent").GetInt64() == 3);
        await host.Grains.GetFriend(channel, friends[0]).Unfollow(new UnfollowCommand { At = DateTimeOffset.UtcNow });

        var active = await EventuallyAsync(
            () => _http.GetFromJsonAsync<JsonElement>($"/api/v1/channels/{channel}/scenarios/spring-sale/stats/active-runs"),
            a => WaitingFor(a, "reminder") == 2 && a.GetProperty("steps").GetArrayLength() == 1);

        Assert.Equal(2, WaitingFor(active, "reminder"));
        Assert.Equal(1, active.GetProperty("steps").GetArrayLength());
    }

    [Fact]
    public async Task The_quota_forecast_counts_the_runs_waiting_in_the_active_runs_gauge()
    {
        var channel = await host.NewChannelAsync("forecast");
        var scenario = CampaignScenario(channel);
        // 300 days of sandbox time (five minutes): the reminders fall due this month, after the test is over.
        await host.PublishAsync(scenario with { Steps = [scenario.Steps[0], new WaitStep { Id = "a-month", Days = 300 }, scenario.Steps[2]] });
        var friends = await host.FollowersAsync(channel, 3);
        await _http.PostAsync($"/api/v1/channels/{channel}/campaigns?scenarioId=spring-sale", Ndjson(friends.Select(id => $"\"{id}\"")));
        await EventuallyAsync(
            () => _http.GetFromJsonAsync<JsonElement>($"/api/v1/channels/{channel}/scenarios/spring-sale/stats/active-runs"),
            a => WaitingFor(a, "reminder") == 3);

        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("Asia/Tokyo")).DateTime);
        var response = await _http.PostAsJsonAsync($"/api/v1/channels/{channel}/forecast", new
        {
            from = today.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            months = 1,
            scenarioIds = new[] { "spring-sale" },
        });
        var month = (await JsonAsync(response)).GetProperty("months")[0];

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, month.GetProperty("fromCurrentEnrollments").GetInt64());
    }

    private static long WaitingFor(JsonElement active, string stepId) =>
        active.GetProperty("steps").EnumerateArray()
            .Where(s => s.GetProperty("stepId").GetString() == stepId)
            .SelectMany(s => s.GetProperty("days").EnumerateArray())
            .Sum(d => d.GetProperty("runs").GetInt64());

    [Fact]
    public async Task A_forged_or_altered_click_token_is_a_404_problem()
    {
        var channel = await host.NewChannelAsync("forged");
        await host.PublishAsync(TrackedScenario(channel));
        var friend = (await host.FollowersAsync(channel, 1))[0];
        await _http.PostAsync($"/api/v1/channels/{channel}/campaigns?scenarioId=spring-sale", Ndjson([$"\"{friend}\""]));
        var delivered = await EventuallyAsync(
            () => Task.FromResult(host.Services.GetRequiredService<Stepcast.Grains.Delivery.SandboxDeliveryRecorder>().DeliveriesTo(channel, friend)),
            d => d.Count > 0);
        var link = JsonDocument.Parse(delivered[0].Messages[1].Json).RootElement
            .GetProperty("template").GetProperty("actions")[0].GetProperty("uri").GetString()!;
        var token = link[(link.LastIndexOf('/') + 1)..];
        var altered = token[..^2] + (token[^2] == 'A' ? 'B' : 'A') + token[^1];

        var forged = await _http.GetAsync("/r/" + altered);
        var garbage = await _http.GetAsync("/r/not-a-token");

        Assert.Equal(HttpStatusCode.NotFound, forged.StatusCode);
        Assert.Equal("application/problem+json", forged.Content.Headers.ContentType?.MediaType);
        Assert.True((await JsonAsync(forged)).GetProperty("errors").TryGetProperty("token", out _));
        Assert.Equal(HttpStatusCode.NotFound, garbage.StatusCode);
        Assert.DoesNotContain((await host.Grains.GetFriend(channel, friend).GetSnapshot()).History, h => h.Kind == HistoryKind.Clicked);
    }

    [Fact]
    public async Task Stats_of_an_unknown_scenario_are_a_404_problem_naming_it()
    {
        var channel = await host.NewChannelAsync("nostats");
        var response = await _http.GetAsync($"/api/v1/channels/{channel}/scenarios/nothing/stats");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.True((await JsonAsync(response)).GetProperty("errors").TryGetProperty("scenarioId", out _));
    }
}
