using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Stepcast.Tests.Api;

namespace Stepcast.Tests.Management;

[Collection(EmbeddedHostCollection.Name)]
public sealed class OpenApiDocumentTests(ManagementHostFactory host) : IClassFixture<ManagementHostFactory>
{
    [Fact]
    public async Task The_OpenAPI_document_lists_every_resource_and_the_key_scheme()
    {
        var document = await host.CreateClient().GetFromJsonAsync<JsonElement>("/openapi/v1.json");

        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        foreach (var expected in new[]
        {
            "/api/v1/tenants", "/api/v1/tenant/api-keys", "/api/v1/channels", "/api/v1/channels/{channelId}",
            "/api/v1/channels/{channelId}/access-token", "/api/v1/channels/{channelId}/scenarios",
            "/api/v1/channels/{channelId}/scenarios/validate", "/api/v1/channels/{channelId}/scenarios/{scenarioId}/publish",
            "/api/v1/channels/{channelId}/scenarios/{scenarioId}/versions", "/api/v1/channels/{channelId}/scenarios/{scenarioId}/test-deliveries",
            "/api/v1/channels/{channelId}/events", "/api/v1/channels/{channelId}/members/{memberId}/link",
            "/api/v1/channels/{channelId}/friends/{lineUserId}/profile", "/api/v1/channels/{channelId}/friends/{lineUserId}/tags",
            "/api/v1/channels/{channelId}/friends/{lineUserId}/history",
        })
        {
            Assert.Contains(expected, paths);
        }

        Assert.True(document.GetProperty("components").GetProperty("securitySchemes").TryGetProperty("apiKey", out _));
        var register = document.GetProperty("paths").GetProperty("/api/v1/channels").GetProperty("post");
        Assert.True(register.GetProperty("responses").TryGetProperty("400", out _));
    }

    [Fact]
    public async Task The_reference_page_is_served()
    {
        var response = await host.CreateClient().GetAsync("/api/reference");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
    }
}
