using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Stepcast.Tests.Api;
using Stepcast.Tests.Infrastructure;

namespace Stepcast.Tests.Management;

[Collection(EmbeddedHostCollection.Name)]
public sealed class EventsApiTests(ManagementHostFactory host) : IClassFixture<ManagementHostFactory>
{
    private Task<List<string>> SentStepsAsync(string channelId, string lineUserId, string untilStep) =>
        Eventually.UntilAsync(
            () => Task.FromResult(host.Deliveries.DeliveriesTo(channelId, lineUserId).Select(d => d.StepId).ToList()),
            steps => steps.Contains(untilStep));

    [Fact]
    public async Task Events_by_member_id_start_a_scenario_and_release_its_wait_for_purchase()
    {
        var tenant = await host.NewTenantAsync();
        var channelId = await tenant.NewChannelAsync();
        await tenant.PublishAsync(channelId, Scenarios.Cart);
        var link = await tenant.Http.PutAsJsonAsync($"/api/v1/channels/{channelId}/members/M-1001/link", new { lineUserId = "Ushopper" });

        var abandoned = await (await tenant.Http.PostAsJsonAsync($"/api/v1/channels/{channelId}/events",
            new { name = "cart_abandoned", memberId = "M-1001" })).Content.ReadFromJsonAsync<JsonElement>();
        await SentStepsAsync(channelId, "Ushopper", "reminder");
        var waiting = await Eventually.UntilAsync(
            () => tenant.Http.GetFromJsonAsync<JsonElement[]>($"/api/v1/channels/{channelId}/friends/Ushopper/enrollments"),
            runs => runs!.Any(r => r.GetProperty("awaitedEvent").GetString() == "purchased"));
        await tenant.Http.PostAsJsonAsync($"/api/v1/channels/{channelId}/events", new { name = "purchased", memberId = "M-1001" });
        var sent = await SentStepsAsync(channelId, "Ushopper", "thanks");

        Assert.Equal(HttpStatusCode.OK, link.StatusCode);
        var result = Assert.Single(abandoned.GetProperty("results").EnumerateArray());
        Assert.Equal("accepted", result.GetProperty("outcome").GetString());
        Assert.Equal("Ushopper", result.GetProperty("lineUserId").GetString());
        Assert.Equal(["cart"], result.GetProperty("enteredScenarios").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains(waiting!, r => r.GetProperty("scenarioId").GetString() == "cart" && r.GetProperty("dueAt").GetDateTimeOffset() > DateTimeOffset.UtcNow);
        Assert.Equal(["reminder", "thanks"], sent);
    }

    [Fact]
    public async Task A_batch_answers_each_event_in_order()
    {
        var tenant = await host.NewTenantAsync();
        var channelId = await tenant.NewChannelAsync();
        await tenant.PublishAsync(channelId, Scenarios.Cart);
        await tenant.Http.PutAsJsonAsync($"/api/v1/channels/{channelId}/members/M-7/link", new { lineUserId = "Ubatch" });

        var response = await tenant.Http.PostAsJsonAsync($"/api/v1/channels/{channelId}/events", new object[]
        {
            new { name = "favorited", lineUserId = "Ubatch", eventId = "fav-1" },
            new { name = "favorited", lineUserId = "Ubatch", eventId = "fav-1" },
            new { name = "cart_abandoned", memberId = "M-7", occurredAt = DateTimeOffset.UtcNow, properties = new { orderId = "o-1" } },
            new { name = "my_brand_custom", memberId = "M-unknown" },
        });
        var results = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").EnumerateArray().ToList();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([0, 1, 2, 3], results.Select(r => r.GetProperty("index").GetInt32()));
        Assert.Equal(["accepted", "duplicate", "accepted", "memberNotLinked"], results.Select(r => r.GetProperty("outcome").GetString()));
        Assert.Equal(["cart"], results[2].GetProperty("enteredScenarios").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Malformed_events_are_problems_naming_the_field()
    {
        var tenant = await host.NewTenantAsync();
        var channelId = await tenant.NewChannelAsync();
        var path = $"/api/v1/channels/{channelId}/events";

        await Problems.AssertFieldAsync(await tenant.Http.PostAsJsonAsync(path, new object[]
        {
            new { name = "purchased", lineUserId = "U1" },
            new { lineUserId = "U1" },
        }), "[1].name");
        await Problems.AssertFieldAsync(await tenant.Http.PostAsJsonAsync(path, new { name = "purchased", lineUserId = "U1", memberId = "M1" }), "lineUserId");
        await Problems.AssertFieldAsync(await tenant.Http.PostAsJsonAsync(path, new { name = "has space", lineUserId = "U1" }), "name");
        await Problems.AssertFieldAsync(await tenant.Http.PostAsJsonAsync(path, new { name = "purchased", lineUserId = "U1", colour = "red" }), "colour");
        await Problems.AssertFieldAsync(await tenant.Http.PostAsync(path, new StringContent("{ not json", Encoding.UTF8, "application/json")), "$");
        Assert.Empty(host.Deliveries.DeliveriesTo(channelId, "U1"));
    }

    [Fact]
    public async Task An_unlinked_member_id_no_longer_reaches_the_friend()
    {
        var tenant = await host.NewTenantAsync();
        var channelId = await tenant.NewChannelAsync();
        var link = $"/api/v1/channels/{channelId}/members/M-9/link";
        await tenant.Http.PutAsJsonAsync(link, new { lineUserId = "Ugone" });
        var linked = await tenant.Http.GetFromJsonAsync<JsonElement>(link);

        var unlinked = await tenant.Http.DeleteAsync(link);
        var afterwards = await tenant.Http.GetAsync(link);
        var result = await (await tenant.Http.PostAsJsonAsync($"/api/v1/channels/{channelId}/events", new { name = "shipped", memberId = "M-9" }))
            .Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal("Ugone", linked.GetProperty("lineUserId").GetString());
        Assert.Equal(HttpStatusCode.NoContent, unlinked.StatusCode);
        await Problems.AssertProblemAsync(afterwards, HttpStatusCode.NotFound);
        Assert.Equal("memberNotLinked", result.GetProperty("results")[0].GetProperty("outcome").GetString());
        await Problems.AssertFieldAsync(await tenant.Http.PutAsJsonAsync(link, new { }), "lineUserId");
    }
}
