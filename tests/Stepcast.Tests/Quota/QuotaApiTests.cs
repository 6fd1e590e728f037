using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Stepcast.Tests.Api;

namespace Stepcast.Tests.Quota;

/// <summary>The quota, frequency-cap and forecast endpoints on the embedded host's sandbox channel.</summary>
[Collection(EmbeddedHostCollection.Name)]
public sealed class QuotaApiTests(WebApplicationFactory<Program> factory) : IClassFixture<WebApplicationFactory<Program>>
{
    private const string Channel = "/api/v1/channels/sandbox";
    private readonly HttpClient _http = factory.CreateClient();

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
        Assert.Equal("Unlimited", quota.GetProperty("settings").GetProperty("plan").GetString());
    }

    [Fact]
    public async Task A_spent_budget_holds_the_next_sends_and_the_quota_shows_it()
    {
        var set = await _http.PutAsJsonAsync($"{Channel}/quota", new { plan = "custom", customMonthlyLimit = 1, whenExhausted = "pause", alertThresholds = new[] { 100 } });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        try
        {
            // The sample welcome scenarios push two messages at once to a new friend: one fits, one waits.
            await _http.PostAsJsonAsync("/sandbox/friends/Uquota1/follow", new { displayName = "Hanako" });
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
            var deliveries = await _http.GetFromJsonAsync<JsonElement[]>("/sandbox/deliveries?lineUserId=Uquota1");
            Assert.Single(deliveries!);
            var friend = await _http.GetFromJsonAsync<JsonElement>("/sandbox/friends/Uquota1");
            Assert.Contains(friend.GetProperty("history").EnumerateArray(), h => h.GetProperty("kind").GetString() == "Held");
        }
        finally
        {
            await _http.PutAsJsonAsync($"{Channel}/quota", new { plan = "unlimited" });
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
        try
        {
            var stored = await _http.GetFromJsonAsync<JsonElement>($"{Channel}/frequency-caps");
            Assert.Equal(["1:1d", "3:7d"], stored.GetProperty("frequencyCaps").EnumerateArray()
                .Select(c => $"{c.GetProperty("messages").GetInt32()}:{c.GetProperty("window").GetString()}"));
        }
        finally
        {
            await _http.PutAsJsonAsync($"{Channel}/frequency-caps", new { frequencyCaps = Array.Empty<object>() });
        }
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
    public async Task An_unregistered_channel_is_not_found()
    {
        var response = await _http.GetAsync("/api/v1/channels/nobody/quota");

        await ProblemAsync(response, HttpStatusCode.NotFound);
    }
}
