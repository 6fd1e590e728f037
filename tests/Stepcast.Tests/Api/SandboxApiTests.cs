using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Stepcast.Tests.Infrastructure;

namespace Stepcast.Tests.Api;

/// <summary>The sandbox as a newcomer uses it: the embedded host over HTTP, with the shipped samples.</summary>
[Collection(EmbeddedHostCollection.Name)]
public sealed class SandboxApiTests(WebApplicationFactory<Program> factory) : IClassFixture<WebApplicationFactory<Program>>
{
    private readonly HttpClient _http = factory.CreateClient();

    private Task<JsonElement[]> DeliveriesAsync(string lineUserId, int atLeast) =>
        DeliveriesAsync(lineUserId, deliveries => deliveries.Length >= atLeast);

    private Task<JsonElement[]> DeliveriesAsync(string lineUserId, Func<JsonElement[], bool> done) =>
        Eventually.UntilAsync(
            async () => await _http.GetFromJsonAsync<JsonElement[]>($"/sandbox/deliveries?lineUserId={lineUserId}") ?? [], done);

    [Fact]
    public async Task A_new_friend_gets_the_sample_welcome_messages_with_their_name()
    {
        var follow = await _http.PostAsJsonAsync("/sandbox/friends/Usandbox1/follow", new { displayName = "Hanako" });
        var result = await follow.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, follow.StatusCode);
        Assert.Contains("restaurant-welcome", result.GetProperty("enteredScenarios").EnumerateArray().Select(e => e.GetString()));
        var deliveries = await DeliveriesAsync("Usandbox1", 2);
        var welcome = Assert.Single(deliveries, d => d.GetProperty("stepId").GetString() == "welcome-coupon");
        Assert.StartsWith("Hanakoさん", welcome.GetProperty("messages")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Compressed_waits_deliver_the_week_later_coupon_within_seconds()
    {
        await _http.PostAsJsonAsync("/sandbox/friends/Usandbox2/follow", new { displayName = "Taro" });

        // Other samples' compressed steps interleave with it; wait for the coupon itself, not for a count.
        var deliveries = await DeliveriesAsync("Usandbox2", all => all.Any(d => d.GetProperty("stepId").GetString() == "second-visit-coupon"));

        Assert.Contains(deliveries, d => d.GetProperty("stepId").GetString() == "second-visit-coupon");
    }

    [Fact]
    public async Task An_event_without_a_name_is_a_validation_problem_naming_the_field()
    {
        var response = await _http.PostAsJsonAsync("/sandbox/friends/Usandbox3/events", new { name = "" });
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(problem.GetProperty("errors").TryGetProperty("name", out _));
        Assert.Empty(await DeliveriesAsync("Usandbox3", 0));
    }
}
