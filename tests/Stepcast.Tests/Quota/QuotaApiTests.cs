using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Stepcast.Tests.Api;
using Stepcast.Tests.Domain;
using Stepcast.Tests.Management;

namespace Stepcast.Tests.Quota;

/// <summary>The quota, frequency-cap and forecast endpoints, as a brand's systems call them with their key.</summary>
[Collection(EmbeddedHostCollection.Name)]
public sealed class QuotaApiTests(ManagementHostFactory host) : IClassFixture<ManagementHostFactory>, IAsyncLifetime
{
    private TenantClient _tenant = null!;
    private string _channelId = "";
    private HttpClient _http = null!;

    private string Channel => $"/api/v1/channels/{_channelId}";

    public async Task InitializeAsync()
    {
        _tenant = await host.NewTenantAsync();
        _channelId = await _tenant.NewChannelAsync();
        _http = _tenant.Http;
        foreach (var sample in new[] { "restaurant-welcome", "seafood-nurture" })
        {
            var json = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "samples", "scenarios", sample + ".json"));
            await _tenant.PublishAsync(_channelId, json.Replace("\"channelId\": \"sandbox\"", "\"channelId\": \"CHANNEL\"", StringComparison.Ordinal));
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static IEnumerable<string> ErrorFields(JsonElement problem) =>
        problem.GetProperty("errors").EnumerateObject().Select(p => p.Name);

    [Fact]
    public async Task Invalid_plan_settings_are_refused_naming_each_field_and_change_nothing()
    {
        var response = await _http.PutAsJsonAsync($"{Channel}/quota", new
        {
            plan = "light",
            extraMessageCap = 1_000,
            whenExhausted = "explode",
            alertThresholds = new[] { 80, 150 },
            timeZone = "Mars/Olympus",
        });

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(["alertThresholds", "extraMessageCap", "timeZone", "whenExhausted"], ErrorFields(problem).Order());
        var quota = await _http.GetFromJsonAsync<JsonElement>($"{Channel}/quota");
        Assert.Equal("Light", quota.GetProperty("settings").GetProperty("plan").GetString());
        Assert.Equal(5_000, quota.GetProperty("limit").GetInt64());
    }

    [Fact]
    public async Task A_spent_budget_holds_the_next_sends_and_the_quota_shows_it()
    {
        var set = await _http.PutAsJsonAsync($"{Channel}/quota", new { plan = "custom", customMonthlyLimit = 1, whenExhausted = "pause", alertThresholds = new[] { 100 } });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        {
            // The two sample welcome scenarios push to a new friend at once: one message fits, one waits.
            var started = await _http.PostAsJsonAsync($"{Channel}/friends/Uquota1/enrollments", new { scenarioId = "restaurant-welcome" });
            Assert.True(started.IsSuccessStatusCode, await started.Content.ReadAsStringAsync());
            started = await _http.PostAsJsonAsync($"{Channel}/friends/Uquota1/enrollments", new { scenarioId = "seafood-nurture" });
            Assert.True(started.IsSuccessStatusCode, await started.Content.ReadAsStringAsync());
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            JsonElement quota;
            do
            {
                await Task.Delay(100);
                quota = await _http.GetFromJsonAsync<JsonElement>($"{Channel}/quota");
            }
            while (quota.GetProperty("heldSends").GetInt32() == 0 && DateTime.UtcNow < deadline);

            Assert.Equal(1, quota.GetProperty("used").GetInt64());
            Assert.Equal(0, quota.GetProperty("remaining").GetInt64());
            Assert.True(quota.GetProperty("heldSends").GetInt32() >= 1);
            Assert.Equal(100, quota.GetProperty("alerts").EnumerateArray().Single().GetProperty("thresholdPercent").GetInt32());
            Assert.Single(host.Deliveries.DeliveriesTo(_channelId, "Uquota1"));
            var history = await _http.GetStringAsync($"{Channel}/friends/Uquota1/history");
            Assert.Contains("\"kind\":\"held\"", history);
        }
    }

    [Fact]
    public async Task Frequency_caps_are_validated_stored_and_read_back()
    {
        var bad = await _http.PutAsJsonAsync($"{Channel}/frequency-caps", new { frequencyCaps = new[] { new { messages = 1, window = "1 fortnight" } } });
        Assert.Equal(["frequencyCaps[0].window"], ErrorFields(await ProblemAsync(bad, HttpStatusCode.BadRequest)));
        var zero = await _http.PutAsJsonAsync($"{Channel}/frequency-caps", new { frequencyCaps = new[] { new { messages = 0, window = "1d" } } });
        Assert.Equal(["frequencyCaps[0].messages"], ErrorFields(await ProblemAsync(zero, HttpStatusCode.BadRequest)));

        var good = await _http.PutAsJsonAsync($"{Channel}/frequency-caps", new { frequencyCaps = new[] { new { messages = 1, window = "1d" }, new { messages = 3, window = "7d" } } });
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        var stored = await _http.GetFromJsonAsync<JsonElement>($"{Channel}/frequency-caps");
        Assert.Equal(["1:1d", "3:7d"], stored.GetProperty("frequencyCaps").EnumerateArray()
            .Select(c => $"{c.GetProperty("messages").GetInt32()}:{c.GetProperty("window").GetString()}"));
    }

    [Fact]
    public async Task Forecast_of_the_restaurant_sample_matches_the_hand_computed_month()
    {
        var response = await _http.PostAsJsonAsync($"{Channel}/forecast", new
        {
            from = "2026-12-01",
            months = 1,
            newFriendsPerDay = 10,
            scenarioIds = new[] { "restaurant-welcome" },
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var month = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("months").EnumerateArray().Single();
        // Welcome coupons for entries on December 1–31 (310); the 7-days-later 11:00 coupon for entries up to the 24th
        // (240); the month-later coupon falls in January.
        Assert.Equal("2026-12", month.GetProperty("month").GetString());
        Assert.Equal(550, month.GetProperty("messages").GetInt64());
        Assert.Equal("Light", month.GetProperty("cheapestSufficientPlan").GetString());
    }

    [Fact]
    public async Task Forecast_input_errors_name_the_field()
    {
        var response = await _http.PostAsJsonAsync($"{Channel}/forecast", new
        {
            months = 0,
            newFriendsPerDay = -1,
            scenarioIds = new[] { "no-such-scenario" },
            pathRates = new Dictionary<string, Dictionary<string, double>> { ["check"] = new() { ["vip"] = 1.5 } },
        });

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(["months", "newFriendsPerDay", "pathRates.check.vip", "scenarioIds[0]"], ErrorFields(problem).Order());
    }

    [Fact]
    public async Task Another_tenants_channel_is_not_found()
    {
        var other = await host.NewTenantAsync();

        var response = await other.Http.GetAsync($"{Channel}/quota");

        await ProblemAsync(response, HttpStatusCode.NotFound);
    }
}
