// Picked images: read once, checked with the server's rules (from /openreel/v1/limits), and
// kept as the exact file bytes, so the request and the Python snippet send the same image.

import { FieldError } from "./api.js";

const JPEG = [0xff, 0xd8, 0xff];
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes, magic) {
  return magic.every((value, i) => bytes[i] === value);
}

export function toBase64(bytes) {
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

function megabytes(bytes) {
  const mb = bytes / (1024 * 1024);
  return Number.isInteger(mb) ? `${mb} MB` : `${mb.toFixed(1)} MB`;
}

/** The words the server uses for the same rules (``media/images.py``). */
export function checkGeometry(field, width, height, rules, aspect) {
  if (width * height > rules.max_pixels) {
    throw new FieldError(
      field,
      `${field}: image is ${width}x${height} pixels, over the ${rules.max_pixels} pixel limit`,
    );
  }
  if (Math.min(width, height) < rules.min_side) {
    throw new FieldError(
      field,
      `${field}: image is ${width}x${height}; each side must be at least ${rules.min_side} px`,
    );
  }
  const ratio = width / height;
  if (aspect && (ratio > rules.max_aspect || ratio < 1 / rules.max_aspect)) {
    throw new FieldError(
      field,
      `${field}: image aspect ratio ${width}:${height} is outside 1:${rules.max_aspect} to ${rules.max_aspect}:1`,
    );
  }
}

/**
 * Read and check one picked file. Resolves to
 * ``{name, bytes, base64, width, height, bitmap, url}``; rejects with a FieldError naming
 * ``field`` and the broken rule.
 */
export async function loadImage(file, field, rules, aspect) {
  if (file.size > rules.max_bytes) {
    throw new FieldError(field, `${field}: image is larger than ${megabytes(rules.max_bytes)}`);
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (!startsWith(bytes, JPEG) && !startsWith(bytes, PNG)) {
    throw new FieldError(field, `${field}: image format must be JPEG or PNG`);
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes], { type: file.type || "image/png" }));
  } catch {
    throw new FieldError(field, `${field}: image could not be decoded`);
  }
  checkGeometry(field, bitmap.width, bitmap.height, rules, aspect);
  return {
    name: file.name || "image.png",
    bytes,
    base64: toBase64(bytes),
    width: bitmap.width,
    height: bitmap.height,
    bitmap,
    url: URL.createObjectURL(file),
  };
}

/** Human summary of the rules, for the help text under the image inputs. */
export function describeRules(rules) {
  return (
    `JPEG or PNG, at most ${megabytes(rules.max_bytes)}, each side at least ${rules.min_side} px, ` +
    `aspect ratio between 1:${rules.max_aspect} and ${rules.max_aspect}:1.`
  );
}
