using System.Text.Json;
using System.Text.Json.Serialization;

namespace Stepcast.Grains.Scenarios;

/// <summary>
/// One LINE message object (text, image, video, sticker, flex, template, imagemap, coupon …) kept as its raw JSON,
/// so every message type LINE defines passes through unchanged; the engine only reads <see cref="Type"/> and
/// substitutes placeholders in string values.
/// </summary>
[GenerateSerializer, Immutable]
[JsonConverter(typeof(LineMessageJsonConverter))]
public sealed record LineMessage([property: Id(0)] string Json)
{
    /// <summary>The message's <c>type</c> property, or null when missing or not a string.</summary>
    public string? Type
    {
        get
        {
            using var document = JsonDocument.Parse(Json);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("type", out var type)
                && type.ValueKind == JsonValueKind.String
                ? type.GetString()
                : null;
        }
    }

    public static LineMessage Text(string text) =>
        new(JsonSerializer.Serialize(new { type = "text", text }));
}

/// <summary>Reads and writes a <see cref="LineMessage"/> as the JSON object it holds.</summary>
public sealed class LineMessageJsonConverter : JsonConverter<LineMessage>
{
    public override LineMessage Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("A LINE message must be a JSON object.");
        }

        using var document = JsonDocument.ParseValue(ref reader);
        return new LineMessage(document.RootElement.GetRawText());
    }

    public override void Write(Utf8JsonWriter writer, LineMessage value, JsonSerializerOptions options) =>
        writer.WriteRawValue(value.Json, skipInputValidation: true);
}
