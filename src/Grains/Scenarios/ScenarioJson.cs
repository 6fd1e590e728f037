using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Stepcast.Grains.Scenarios;

/// <summary>The one JSON shape of scenarios, used by the API, the sample loader and the docs.</summary>
public static class ScenarioJson
{
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    public static ScenarioDefinition Deserialize(string json) =>
        JsonSerializer.Deserialize<ScenarioDefinition>(json, Options)
        ?? throw new JsonException("A scenario must be a JSON object, not null.");

    public static string Serialize(ScenarioDefinition scenario) => JsonSerializer.Serialize(scenario, Options);

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            // The discriminator ("type") may appear anywhere in an object written by hand.
            AllowOutOfOrderMetadataProperties = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            RespectRequiredConstructorParameters = true,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            WriteIndented = true,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
