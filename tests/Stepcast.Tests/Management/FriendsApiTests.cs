using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Stepcast.Tests.Api;
using Stepcast.Tests.Infrastructure;

namespace Stepcast.Tests.Management;

[Collection(EmbeddedHostCollection.Name)]
public sealed class FriendsApiTests(ManagementHostFactory host) : IClassFixture<ManagementHostFactory>
{
    [Fact]
    public async Task Adding_a_tag_starts_the_scenario_it_triggers_and_removing_it_is_recorded()
    {
        var tenant = await host.NewTenantAsync();
        var channelId = await tenant.NewChannelAsync();
        await tenant.PublishAsync(channelId, Scenarios.VipWelcome);
        var friend = $"/api/v1/channels/{channelId}/friends/Uvip";

        var added = await (await tenant.Http.PostAsJsonAsync($"{friend}/tags", new { tags = new[] { "vip", "newsletter" } })).Content.ReadFromJsonAsync<JsonElement>();
        var sent = await Eventually.UntilAsync(
            () => Task.FromResult(host.Deliveries.DeliveriesTo(channelId, "Uvip")), d => d.Count > 0);
        var removed = await (await tenant.Http.DeleteAsync($"{friend}/tags/vip")).Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(["vip-welcome"], added.GetProperty("enteredScenarios").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("vip-hello", Assert.Single(sent).StepId);
        Assert.Equal(["newsletter"], removed.GetProperty("friend").GetProperty("tags").EnumerateArray().Select(e => e.GetString()));
        await Problems.AssertFieldAsync(await tenant.Http.PostAsJsonAsync($"{friend}/tags", new { tags = new[] { "" } }), "tags[0]");
    }

    [Fact]
    public async Task Attributes_are_set_and_removed()
    {
        var tenant = await host.NewTenantAsync();
        var channelId = await tenant.NewChannelAsync();
        var friend = $"/api/v1/channels/{channelId}/friends/Uattr";

        await tenant.Http.PatchAsJsonAsync($"{friend}/attributes", new { set = new Dictionary<string, string> { ["plan"] = "gold", ["city"] = "Osaka" } });
        await tenant.Http.PatchAsJsonAsync($"{friend}/attributes", new { remove = new[] { "CITY" } });
        var read = await tenant.Http.GetFromJsonAsync<JsonElement>(friend);

        var attributes = read.GetProperty("attributes").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.Equal(new Dictionary<string, string?> { ["plan"] = "gold" }, attributes);
        await Problems.AssertFieldAsync(await tenant.Http.PatchAsJsonAsync($"{friend}/attributes", new { }), "set");
        await Problems.AssertFieldAsync(await tenant.Http.PatchAsJsonAsync($"{friend}/attributes", new { remove = new[] { "" } }), "remove[0]");
    }

    [Fact]
    public async Task An_enrolment_shows_its_next_due_time_and_history_pages_through_every_entry()
    {
        var tenant = await host.NewTenantAsync();
        var channelId = await tenant.NewChannelAsync();
        await tenant.PublishAsync(channelId, Scenarios.LongWait);
        await tenant.PublishAsync(channelId, Scenarios.VipWelcome);
        var friend = $"/api/v1/channels/{channelId}/friends/Uhist";

        var enrolled = await (await tenant.Http.PostAsJsonAsync($"{friend}/enrollments", new { scenarioId = "long-wait" })).Content.ReadFromJsonAsync<JsonElement>();
        var again = await (await tenant.Http.PostAsJsonAsync($"{friend}/enrollments", new { scenarioId = "long-wait" })).Content.ReadFromJsonAsync<JsonElement>();
        await tenant.Http.PostAsJsonAsync($"{friend}/tags", new { tags = new[] { "vip" } });
        await Eventually.UntilAsync(() => Task.FromResult(host.Deliveries.DeliveriesTo(channelId, "Uhist")), d => d.Count > 0);
        var runs = await tenant.Http.GetFromJsonAsync<JsonElement[]>($"{friend}/enrollments");
        var full = (await tenant.Http.GetFromJsonAsync<JsonElement>($"{friend}/history")).GetProperty("items").EnumerateArray().Select(h => h.ToString()).ToList();
        var paged = new List<string>();
        string? cursor = null;
        do
        {
            var page = await tenant.Http.GetFromJsonAsync<JsonElement>($"{friend}/history?limit=1{(cursor is null ? "" : "&cursor=" + cursor)}");
            paged.AddRange(page.GetProperty("items").EnumerateArray().Select(h => h.ToString()));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal("enrolled", enrolled.GetProperty("outcome").GetString());
        Assert.Equal("alreadyEnrolled", again.GetProperty("outcome").GetString());
        var run = Assert.Single(runs!, r => r.GetProperty("scenarioId").GetString() == "long-wait");
        Assert.True(run.GetProperty("dueAt").GetDateTimeOffset() > DateTimeOffset.UtcNow);
        Assert.True(full.Count >= 4, string.Join("\n", full));
        Assert.Equal(full, paged);
    }

    [Fact]
    public async Task The_profile_comes_from_LINE_once_and_then_from_the_cache()
    {
        var tenant = await host.NewTenantAsync();
        var token = "token-" + Guid.NewGuid().ToString("N");
        var channelId = await tenant.NewChannelAsync(accessToken: token);
        var path = $"/api/v1/channels/{channelId}/friends/Uprofile/profile";

        var first = await tenant.Http.GetFromJsonAsync<JsonElement>(path);
        var second = await tenant.Http.GetFromJsonAsync<JsonElement>(path);
        var requestsBeforeRefresh = host.Line.Stats.Requests(token, "profile");
        await tenant.Http.GetFromJsonAsync<JsonElement>(path + "?refresh=true");
        var friend = await tenant.Http.GetFromJsonAsync<JsonElement>($"/api/v1/channels/{channelId}/friends/Uprofile");

        Assert.Equal("Friend Uprofile", first.GetProperty("displayName").GetString());
        Assert.Equal("ja", first.GetProperty("language").GetString());
        Assert.Equal(first.GetProperty("fetchedAt").GetDateTimeOffset(), second.GetProperty("fetchedAt").GetDateTimeOffset());
        Assert.Equal(1, requestsBeforeRefresh);
        Assert.Equal(2, host.Line.Stats.Requests(token, "profile"));
        Assert.Equal("Friend Uprofile", friend.GetProperty("displayName").GetString());
    }

    [Fact]
    public async Task A_sandbox_channel_has_no_LINE_profile()
    {
        var tenant = await host.NewTenantAsync();
        var channelId = await tenant.NewChannelAsync();

        var response = await tenant.Http.GetAsync($"/api/v1/channels/{channelId}/friends/Usandbox/profile");

        await Problems.AssertProblemAsync(response, HttpStatusCode.NotFound);
    }
}
