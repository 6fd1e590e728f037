using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Stepcast.Tests.Api;

namespace Stepcast.Tests.Management;

[Collection(EmbeddedHostCollection.Name)]
public sealed class ScenariosApiTests(ManagementHostFactory host) : IClassFixture<ManagementHostFactory>
{
    private static StringContent Json(string json, string channelId) =>
        new(json.Replace("CHANNEL", channelId, StringComparison.Ordinal), Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_scenario_goes_from_draft_through_versions_to_archived()
    {
        var tenant = await host.NewTenantAsync();
        var channelId = await tenant.NewChannelAsync();
        var root = $"/api/v1/channels/{channelId}/scenarios";

        var created = await tenant.Http.PostAsync(root, Json(Scenarios.Nurture, channelId));
        var draft = await created.Content.ReadFromJsonAsync<JsonElement>();
        var v1 = await (await tenant.Http.PostAsync($"{root}/nurture/publish", null)).Content.ReadFromJsonAsync<JsonElement>();
        var edited = await tenant.Http.PutAsync($"{root}/nurture", Json(Scenarios.Nurture.Replace("\"Nurture\"", "\"Nurture, edited\""), channelId));
        var v2 = await (await tenant.Http.PostAsync($"{root}/nurture/publish", null)).Content.ReadFromJsonAsync<JsonElement>();
        var firstVersion = await tenant.Http.GetFromJsonAsync<JsonElement>($"{root}/nurture/versions/1");
        var paused = await (await tenant.Http.PostAsync($"{root}/nurture/pause", null)).Content.ReadFromJsonAsync<JsonElement>();
        var resumed = await (await tenant.Http.PostAsync($"{root}/nurture/resume", null)).Content.ReadFromJsonAsync<JsonElement>();
        var archived = await (await tenant.Http.PostAsync($"{root}/nurture/archive", null)).Content.ReadFromJsonAsync<JsonElement>();
        var resumeArchived = await tenant.Http.PostAsync($"{root}/nurture/resume", null);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("draft", draft.GetProperty("status").GetString());
        Assert.Equal("Nurture", draft.GetProperty("draft").GetProperty("title").GetString());
        Assert.Equal(1, v1.GetProperty("currentVersion").GetInt32());
        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        Assert.Equal(2, v2.GetProperty("currentVersion").GetInt32());
        Assert.Equal("Nurture", firstVersion.GetProperty("title").GetString());
        Assert.Equal("paused", paused.GetProperty("status").GetString());
        Assert.Equal("published", resumed.GetProperty("status").GetString());
        Assert.Equal("archived", archived.GetProperty("status").GetString());
        await Problems.AssertProblemAsync(resumeArchived, HttpStatusCode.Conflict);
        await Problems.AssertProblemAsync(await tenant.Http.GetAsync($"{root}/nurture/versions/3"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Versions_and_scenarios_are_listed_a_page_at_a_time()
    {
        var tenant = await host.NewTenantAsync();
        var channelId = await tenant.NewChannelAsync();
        var root = $"/api/v1/channels/{channelId}/scenarios";
        await tenant.PublishAsync(channelId, Scenarios.Nurture);
        await tenant.Http.PostAsync($"{root}/nurture/publish", null);
        await tenant.Http.PostAsync($"{root}/nurture/publish", null);
        await tenant.Http.PostAsync(root, Json(Scenarios.Cart, channelId));
        await tenant.Http.PostAsync(root, Json(Scenarios.VipWelcome, channelId));

        var versions = await ReadAllAsync(tenant.Http, $"{root}/nurture/versions", v => v.GetProperty("version").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture));
        var scenarios = await ReadAllAsync(tenant.Http, root, s => s.GetProperty("scenarioId").GetString()!);

        Assert.Equal(["1", "2", "3"], versions);
        Assert.Equal(["cart", "nurture", "vip-welcome"], scenarios);
    }

    private static async Task<List<string>> ReadAllAsync(HttpClient http, string path, Func<JsonElement, string> key)
    {
        var all = new List<string>();
        string? cursor = null;
        do
        {
            var page = await http.GetFromJsonAsync<JsonElement>($"{path}?limit=1{(cursor is null ? "" : "&cursor=" + cursor)}");
            all.AddRange(page.GetProperty("items").EnumerateArray().Select(key));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        return all;
    }

    [Fact]
    public async Task Validation_without_saving_reports_problems_by_json_path()
    {
        var tenant = await host.NewTenantAsync();
        var channelId = await tenant.NewChannelAsync();
        var broken = Scenarios.Nurture.Replace("\"id\": \"three-days\", \"days\": 3", "\"id\": \"three-days\", \"days\": -3", StringComparison.Ordinal);

        var response = await tenant.Http.PostAsync($"/api/v1/channels/{channelId}/scenarios/validate", Json(broken, channelId));
        var result = await response.Content.ReadFromJsonAsync<JsonElement>();
        var good = await (await tenant.Http.PostAsync($"/api/v1/channels/{channelId}/scenarios/validate", Json(Scenarios.Nurture, channelId)))
            .Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(result.GetProperty("valid").GetBoolean());
        Assert.Contains(result.GetProperty("problems").EnumerateArray(), p => p.GetProperty("path").GetString() == "$.steps[1].days");
        Assert.True(good.GetProperty("valid").GetBoolean());
        await Problems.AssertProblemAsync(await tenant.Http.GetAsync($"/api/v1/channels/{channelId}/scenarios/nurture"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Saving_an_invalid_draft_is_a_problem_naming_each_path()
    {
        var tenant = await host.NewTenantAsync();
        var channelId = await tenant.NewChannelAsync();
        var root = $"/api/v1/channels/{channelId}/scenarios";

        var missingTitle = await tenant.Http.PostAsync(root, Json("""{ "id": "x", "channelId": "CHANNEL", "steps": [] }""", channelId));
        var wrongChannel = await tenant.Http.PostAsync(root, Json(Scenarios.Nurture.Replace("\"CHANNEL\"", "\"elsewhere\""), channelId));
        var negativeWait = await tenant.Http.PostAsync(root, Json(Scenarios.Nurture.Replace("\"days\": 3", "\"days\": -3"), channelId));
        var typo = await tenant.Http.PostAsync(root, Json(Scenarios.Nurture.Replace("\"days\": 3", "\"dayz\": 3"), channelId));
        await tenant.Http.PostAsync(root, Json(Scenarios.Nurture, channelId));
        var again = await tenant.Http.PostAsync(root, Json(Scenarios.Nurture, channelId));

        await Problems.AssertFieldAsync(missingTitle, "$.title");
        await Problems.AssertFieldAsync(wrongChannel, "$.channelId");
        await Problems.AssertFieldAsync(negativeWait, "$.steps[1].days");
        await Problems.AssertFieldAsync(typo, "$.steps[1].dayz");
        await Problems.AssertProblemAsync(again, HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Test_delivery_plays_every_send_at_once_in_order_marked_as_test_without_touching_the_friend()
    {
        var tenant = await host.NewTenantAsync();
        var channelId = await tenant.NewChannelAsync();
        await tenant.Http.PostAsync($"/api/v1/channels/{channelId}/scenarios", Json(Scenarios.Nurture, channelId));
        await tenant.Http.PatchAsJsonAsync($"/api/v1/channels/{channelId}/friends/Ustaff1/attributes", new { set = new { plan = "gold" } });
        var before = await tenant.Http.GetStringAsync($"/api/v1/channels/{channelId}/friends/Ustaff1/history");

        var response = await tenant.Http.PostAsJsonAsync($"/api/v1/channels/{channelId}/scenarios/nurture/test-deliveries",
            new { lineUserIds = new[] { "Ustaff1", "Ustaff2" } });
        var report = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.All(report.GetProperty("sends").EnumerateArray(), s => Assert.Equal("delivered", s.GetProperty("status").GetString()));
        var staff1 = host.Deliveries.DeliveriesTo(channelId, "Ustaff1");
        Assert.Equal(["first", "second"], staff1.Select(d => d.StepId));
        Assert.All(staff1, d => Assert.True(d.IsTest));
        Assert.Contains("gold member", staff1[0].Messages[0].Json);
        Assert.Equal(2, host.Deliveries.DeliveriesTo(channelId, "Ustaff2").Count);
        Assert.Equal(before, await tenant.Http.GetStringAsync($"/api/v1/channels/{channelId}/friends/Ustaff1/history"));
        Assert.Empty(await tenant.Http.GetFromJsonAsync<JsonElement[]>($"/api/v1/channels/{channelId}/friends/Ustaff1/enrollments") ?? []);
    }

    [Fact]
    public async Task Test_delivery_needs_test_friends_and_an_existing_version()
    {
        var tenant = await host.NewTenantAsync();
        var channelId = await tenant.NewChannelAsync();
        await tenant.Http.PostAsync($"/api/v1/channels/{channelId}/scenarios", Json(Scenarios.Nurture, channelId));
        var root = $"/api/v1/channels/{channelId}/scenarios/nurture/test-deliveries";

        await Problems.AssertFieldAsync(await tenant.Http.PostAsJsonAsync(root, new { lineUserIds = Array.Empty<string>() }), "lineUserIds");
        await Problems.AssertFieldAsync(await tenant.Http.PostAsJsonAsync(root, new { lineUserIds = new[] { "U1", "bad id" } }), "lineUserIds[1]");
        await Problems.AssertProblemAsync(await tenant.Http.PostAsJsonAsync(root, new { lineUserIds = new[] { "U1" }, version = 4 }), HttpStatusCode.NotFound);
        Assert.Empty(host.Deliveries.DeliveriesTo(channelId, "U1"));
    }
}
