using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Stepcast.Tests.Api;

namespace Stepcast.Tests.Management;

/// <summary>Who may call what: no key, a wrong key, a missing scope, another tenant's channel — for every endpoint.</summary>
[Collection(EmbeddedHostCollection.Name)]
public sealed class ManagementAuthTests(ManagementHostFactory host) : IClassFixture<ManagementHostFactory>
{
    /// <summary>Every management endpoint, the scope it needs, and whether it sits under a channel ({c}).</summary>
    public static TheoryData<string, string, string> Endpoints => new()
    {
        { "GET", "/api/v1/tenant", "read" },
        { "GET", "/api/v1/tenant/api-keys", "read" },
        { "POST", "/api/v1/tenant/api-keys", "write" },
        { "DELETE", "/api/v1/tenant/api-keys/k1", "write" },
        { "POST", "/api/v1/channels", "write" },
        { "GET", "/api/v1/channels", "read" },
        { "GET", "/api/v1/channels/{c}", "read" },
        { "PUT", "/api/v1/channels/{c}/access-token", "write" },
        { "GET", "/api/v1/channels/{c}/scenarios", "read" },
        { "POST", "/api/v1/channels/{c}/scenarios", "write" },
        { "POST", "/api/v1/channels/{c}/scenarios/validate", "write" },
        { "GET", "/api/v1/channels/{c}/scenarios/s1", "read" },
        { "PUT", "/api/v1/channels/{c}/scenarios/s1", "write" },
        { "POST", "/api/v1/channels/{c}/scenarios/s1/publish", "write" },
        { "POST", "/api/v1/channels/{c}/scenarios/s1/pause", "write" },
        { "POST", "/api/v1/channels/{c}/scenarios/s1/resume", "write" },
        { "POST", "/api/v1/channels/{c}/scenarios/s1/archive", "write" },
        { "GET", "/api/v1/channels/{c}/scenarios/s1/versions", "read" },
        { "GET", "/api/v1/channels/{c}/scenarios/s1/versions/1", "read" },
        { "POST", "/api/v1/channels/{c}/scenarios/s1/test-deliveries", "send" },
        { "POST", "/api/v1/channels/{c}/events", "send" },
        { "PUT", "/api/v1/channels/{c}/members/m1/link", "write" },
        { "GET", "/api/v1/channels/{c}/members/m1/link", "read" },
        { "DELETE", "/api/v1/channels/{c}/members/m1/link", "write" },
        { "GET", "/api/v1/channels/{c}/friends/U1", "read" },
        { "GET", "/api/v1/channels/{c}/friends/U1/profile", "read" },
        { "PATCH", "/api/v1/channels/{c}/friends/U1/attributes", "write" },
        { "POST", "/api/v1/channels/{c}/friends/U1/tags", "write" },
        { "DELETE", "/api/v1/channels/{c}/friends/U1/tags/vip", "write" },
        { "GET", "/api/v1/channels/{c}/friends/U1/enrollments", "read" },
        { "POST", "/api/v1/channels/{c}/friends/U1/enrollments", "send" },
        { "GET", "/api/v1/channels/{c}/friends/U1/history", "read" },
        { "GET", "/api/v1/channels/{c}/quota", "read" },
        { "PUT", "/api/v1/channels/{c}/quota", "write" },
        { "POST", "/api/v1/channels/{c}/quota/reconcile", "write" },
        { "GET", "/api/v1/channels/{c}/frequency-caps", "read" },
        { "PUT", "/api/v1/channels/{c}/frequency-caps", "write" },
        { "POST", "/api/v1/channels/{c}/forecast", "read" },
        { "POST", "/api/v1/channels/{c}/campaigns", "send" },
        { "GET", "/api/v1/channels/{c}/campaigns", "read" },
        { "GET", "/api/v1/channels/{c}/campaigns/k1", "read" },
        { "POST", "/api/v1/channels/{c}/campaigns/k1/cancel", "write" },
        { "GET", "/api/v1/channels/{c}/scenarios/s1/stats", "read" },
        { "GET", "/api/v1/channels/{c}/scenarios/s1/stats/active-runs", "read" },
    };

    [Fact]
    public void The_list_above_covers_every_tenant_endpoint_the_host_maps()
    {
        static string Shape(string method, string path) =>
            method + " " + System.Text.RegularExpressions.Regex.Replace(path.TrimEnd('/'), @"\{[^}]+\}", "{}");

        var mapped = host.Services.GetRequiredService<Microsoft.AspNetCore.Routing.EndpointDataSource>().Endpoints
            .OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/v1/", StringComparison.Ordinal) == true
                && !e.RoutePattern.RawText.StartsWith("/api/v1/tenants", StringComparison.Ordinal))
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => Shape(m, e.RoutePattern.RawText!)))
            .Order()
            .ToList();
        var listed = Endpoints.Select(row => Shape((string)row[0], System.Text.RegularExpressions.Regex.Replace((string)row[1], "/(U1|s1|m1|k1|1|vip)(?=/|$)", "/{x}")))
            .Order()
            .ToList();

        Assert.Equal(mapped, listed);
    }

    private static HttpRequestMessage Request(string method, string path, string channelId)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{c}", channelId, StringComparison.Ordinal));
        if (method is "POST" or "PUT" or "PATCH")
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }

        return request;
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Every_endpoint_answers_401_problem_details_without_a_key(string method, string path, string scope)
    {
        _ = scope;
        var tenant = await host.NewTenantAsync();
        var channelId = await tenant.NewChannelAsync();

        var response = await tenant.WithKey(null).SendAsync(Request(method, path, channelId));

        var problem = await Problems.AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains("API key is required", problem.GetProperty("detail").GetString());
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Every_endpoint_answers_401_for_a_key_that_does_not_verify(string method, string path, string scope)
    {
        _ = scope;
        var tenant = await host.NewTenantAsync();
        var channelId = await tenant.NewChannelAsync();
        // The right key id with a wrong secret.
        var forged = tenant.Key[..^4] + "AAAA";

        var response = await tenant.WithKey(forged).SendAsync(Request(method, path, channelId));

        var problem = await Problems.AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.DoesNotContain(forged, problem.ToString());
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Every_endpoint_answers_403_naming_the_scope_a_key_lacks(string method, string path, string scope)
    {
        var tenant = await host.NewTenantAsync();
        var channelId = await tenant.NewChannelAsync();
        var lacking = await tenant.WithScopesAsync([.. new[] { "read", "write", "send" }.Where(s => s != scope)]);

        var response = await lacking.SendAsync(Request(method, path, channelId));

        var problem = await Problems.AssertProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Contains($"'{scope}'", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Every_channel_endpoint_answers_404_for_another_tenants_channel(string method, string path, string scope)
    {
        _ = scope;
        if (!path.Contains("{c}", StringComparison.Ordinal))
        {
            return;
        }

        var owner = await host.NewTenantAsync();
        var channelId = await owner.NewChannelAsync();
        var other = await host.NewTenantAsync();

        var response = await other.Http.SendAsync(Request(method, path, channelId));

        var problem = await Problems.AssertProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Contains(channelId, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task An_unregistered_channel_and_another_tenants_channel_look_the_same()
    {
        var owner = await host.NewTenantAsync();
        var channelId = await owner.NewChannelAsync();
        var other = await host.NewTenantAsync();

        var theirs = await other.Http.GetAsync($"/api/v1/channels/{channelId}");
        var nobodys = await other.Http.GetAsync("/api/v1/channels/never-registered");

        Assert.Equal(HttpStatusCode.NotFound, theirs.StatusCode);
        Assert.Equal(nobodys.StatusCode, theirs.StatusCode);
        Assert.Empty((await other.Http.GetFromJsonAsync<JsonElement>("/api/v1/channels")).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Only_the_bootstrap_token_creates_tenants()
    {
        var tenant = await host.NewTenantAsync();

        var withKey = await tenant.Http.PostAsJsonAsync("/api/v1/tenants", new { tenantId = "sneaky", name = "Sneaky" });
        var without = await tenant.WithKey(null).PostAsJsonAsync("/api/v1/tenants", new { tenantId = "sneaky", name = "Sneaky" });
        var wrongToken = await tenant.WithKey("not-the-bootstrap-token").PostAsJsonAsync("/api/v1/tenants", new { tenantId = "sneaky", name = "Sneaky" });

        await Problems.AssertProblemAsync(withKey, HttpStatusCode.Forbidden);
        await Problems.AssertProblemAsync(without, HttpStatusCode.Unauthorized);
        await Problems.AssertProblemAsync(wrongToken, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task The_bootstrap_token_has_no_tenant_and_so_no_channel()
    {
        var tenant = await host.NewTenantAsync();
        var channelId = await tenant.NewChannelAsync();

        var response = await tenant.WithKey(ManagementHostFactory.BootstrapToken).GetAsync($"/api/v1/channels/{channelId}");

        await Problems.AssertProblemAsync(response, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_key_is_shown_once_listed_without_its_secret_and_stops_working_when_revoked()
    {
        var tenant = await host.NewTenantAsync();
        var created = await tenant.Http.PostAsJsonAsync("/api/v1/tenant/api-keys", new { name = "ci", scopes = new[] { "read" } });
        var key = await created.Content.ReadFromJsonAsync<JsonElement>();
        var secret = key.GetProperty("key").GetString()!;
        var keyId = key.GetProperty("keyId").GetString()!;
        var reader = tenant.WithKey(secret);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/api/v1/tenant")).StatusCode);

        var listed = await tenant.Http.GetStringAsync("/api/v1/tenant/api-keys");
        var revoked = await tenant.Http.DeleteAsync($"/api/v1/tenant/api-keys/{keyId}");
        var afterwards = await reader.GetAsync("/api/v1/tenant");

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.StartsWith($"sk_{keyId}_", secret);
        Assert.Contains(keyId, listed);
        Assert.DoesNotContain(secret, listed);
        Assert.DoesNotContain(secret[(3 + keyId.Length + 1)..], listed);
        Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        await Problems.AssertProblemAsync(afterwards, HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_key_cannot_grant_a_scope_it_does_not_hold()
    {
        var tenant = await host.NewTenantAsync();
        var writer = await tenant.WithScopesAsync("write");

        var response = await writer.PostAsJsonAsync("/api/v1/tenant/api-keys", new { scopes = new[] { "write", "send" } });

        await Problems.AssertFieldAsync(response, "scopes[1]");
    }

    [Fact]
    public async Task The_key_can_also_come_in_the_x_api_key_header()
    {
        var tenant = await host.NewTenantAsync();
        var http = tenant.WithKey(null);
        http.DefaultRequestHeaders.Add("X-Api-Key", tenant.Key);

        var response = await http.GetFromJsonAsync<JsonElement>("/api/v1/tenant");

        Assert.Equal(tenant.TenantId, response.GetProperty("tenantId").GetString());
    }
}
