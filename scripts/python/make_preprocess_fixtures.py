#!/usr/bin/python3
"""Preprocessing references: what Hugging Face image processors, timm's eval transform and open_clip's
eval transform make of real photos, for the engine's preprocessing tests (test/fixtures/preprocess/)
and the two hub-folder fixtures (test/fixtures/hub_transformersjs, test/fixtures/hub_timm).

    /usr/bin/python3 scripts/python/make_preprocess_fixtures.py [--full DIR]

Needs Debian's python3-pil (9.4) and numpy. Neither transformers nor torchvision is installed here,
so their eval logic is written out below, line for line from their sources (transformers
image_transforms.py resize/center_crop/get_resize_output_image_size and the processors' resize;
timm transforms_factory.transforms_imagenet_eval and transforms.ResizeKeepRatio/CenterCropOrPad;
torchvision's Resize/CenterCrop on PIL images; open_clip transform.image_transform). All of them
resize with Pillow's Image.resize, which is what is run here: the engine's resize is its own code.

The photos are scikit-image's sample data (python3-skimage: chelsea and coffee, CC0; astronaut,
NASA, public domain, center-cropped to 448x320 to keep the file small and add a portrait shape).
--full DIR also writes each reference tensor as raw float32 (DIR/<case>.<photo>.f32), for measuring
the full differences (test/engine/preprocess-parity.test.ts reads NEURON_PATH_PARITY_DIR).
"""
import argparse
import json
import math
import os
import shutil

import numpy as np
from PIL import Image

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
OUT = os.path.join(REPO, 'test', 'fixtures', 'preprocess')
SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data'

IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
STANDARD = ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])
OPENAI = ([0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711])
PIL_FILTERS = {'nearest': 0, 'lanczos': 1, 'bilinear': 2, 'bicubic': 3, 'box': 4, 'hamming': 5}


# --- transformers (image_transforms.py and the processors' resize, PIL backend) ---------------------

def hf_resize_output_size(h, w, size):
    """get_resize_output_image_size(default_to_square=False): the long side truncated."""
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    return (new_long, new_short) if w <= h else (new_short, new_long)


def hf_center_crop(arr, ch, cw):
    """image_transforms.center_crop: floor offset; a larger crop pads with zeros, ceil(pad / 2) first."""
    h, w = arr.shape[:2]
    top, left = (h - ch) // 2, (w - cw) // 2
    if top >= 0 and left >= 0 and top + ch <= h and left + cw <= w:
        return arr[top:top + ch, left:left + cw]
    nh, nw = max(ch, h), max(cw, w)
    out = np.zeros((nh, nw) + arr.shape[2:], dtype=arr.dtype)
    tp, lp = math.ceil((nh - h) / 2), math.ceil((nw - w) / 2)
    out[tp:tp + h, lp:lp + w] = arr
    top, left = top + tp, left + lp
    return out[max(0, top):min(nh, top + ch), max(0, left):min(nw, left + cw)]


def hf_processor(img, cfg):
    """The slow (PIL) processors' preprocess for the fields each reads."""
    kind = cfg['image_processor_type']
    arr = np.array(img.convert('RGB'))
    size, resample = cfg.get('size'), cfg.get('resample')
    h, w = arr.shape[:2]
    if kind == 'ConvNextImageProcessor':
        s = size['shortest_edge']
        if s < 384:
            nh, nw = hf_resize_output_size(h, w, int(s / cfg['crop_pct']))
            arr = np.array(Image.fromarray(arr).resize((nw, nh), resample=resample))
            arr = hf_center_crop(arr, s, s)
        else:
            arr = np.array(Image.fromarray(arr).resize((s, s), resample=resample))
    else:
        if 'shortest_edge' in size:
            nh, nw = hf_resize_output_size(h, w, size['shortest_edge'])
        else:
            nh, nw = size['height'], size['width']
        arr = np.array(Image.fromarray(arr).resize((nw, nh), resample=resample))
        if cfg.get('do_center_crop'):
            arr = hf_center_crop(arr, cfg['crop_size']['height'], cfg['crop_size']['width'])
    shown = arr
    x = (arr.astype(np.float64) * cfg['rescale_factor']).astype(np.float32)
    mean, std = np.array(cfg['image_mean'], dtype=np.float32), np.array(cfg['image_std'], dtype=np.float32)
    x = (x - mean) / std
    return shown, x.transpose(2, 0, 1).astype(np.float32)


# --- torchvision on PIL images, as timm and open_clip call it ----------------------------------------

def tv_resize(img, size, interpolation):
    """transforms.Resize: an int resizes the short side (long side truncated), a pair is exact."""
    w, h = img.size
    if isinstance(size, int):
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = size, int(size * long / short)
        nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
    else:
        nh, nw = size
    return img.resize((nw, nh), PIL_FILTERS[interpolation])


def resize_keep_ratio(img, size, longest, interpolation):
    """timm ResizeKeepRatio.get_params without the random parts; round() is Python's."""
    w, h = img.size
    ratio_h, ratio_w = h / size[0], w / size[1]
    ratio = max(ratio_h, ratio_w) * longest + min(ratio_h, ratio_w) * (1. - longest)
    nh, nw = [round(x / ratio) for x in (h, w)]
    return img.resize((nw, nh), PIL_FILTERS[interpolation])


def tv_center_crop(img, size, fill=(0, 0, 0)):
    """transforms.CenterCrop / timm CenterCropOrPad: pad (floor(pad / 2) first), then round() the offset."""
    arr = np.array(img)
    ch, cw = size
    h, w = arr.shape[:2]
    if ch > h or cw > w:
        top, left = (ch - h) // 2 if ch > h else 0, (cw - w) // 2 if cw > w else 0
        nh, nw = max(ch, h), max(cw, w)
        out = np.empty((nh, nw, 3), dtype=np.uint8)
        out[:] = np.array(fill, dtype=np.uint8)
        out[top:top + h, left:left + w] = arr
        arr, h, w = out, nh, nw
    top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
    return arr[top:top + ch, left:left + cw]


def to_tensor_normalize(arr, mean, std):
    x = arr.astype(np.float32) / np.float32(255)
    return ((x - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)).transpose(2, 0, 1).astype(np.float32)


def timm_eval(img, pc):
    """transforms_imagenet_eval for pretrained_cfg (resolve_data_config's defaults)."""
    img = img.convert('RGB')
    _, h, w = pc.get('input_size', [3, 224, 224])
    pct, mode = pc.get('crop_pct', 0.875), pc.get('crop_mode', 'center')
    interp = pc.get('interpolation', 'bicubic')
    mean, std = pc.get('mean', IMAGENET[0]), pc.get('std', IMAGENET[1])
    scale = (math.floor(h / pct), math.floor(w / pct))
    if mode == 'squash':
        arr = tv_center_crop(tv_resize(img, scale, interp), (h, w))
    elif mode == 'border':
        fill = [round(255 * v) for v in mean]
        arr = tv_center_crop(resize_keep_ratio(img, scale, 1.0, interp), (h, w), fill)
    elif scale[0] == scale[1]:
        arr = tv_center_crop(tv_resize(img, scale[0], interp), (h, w))
    else:
        arr = tv_center_crop(resize_keep_ratio(img, scale, 0.0, 'bilinear'), (h, w))  # timm passes no interpolation here
    return arr, to_tensor_normalize(arr, mean, std)


def open_clip_eval(img, cfg):
    """open_clip image_transform(is_train=False) from open_clip_config.json."""
    pc = cfg.get('preprocess_cfg', {})
    size = cfg['model_cfg']['vision_cfg']['image_size']
    interp = 'bilinear' if pc.get('interpolation') == 'bilinear' else 'bicubic'
    mode = pc.get('resize_mode', 'shortest')
    img = img.convert('RGB')
    if mode == 'longest':
        fill = pc.get('fill_color', 0)
        arr = tv_center_crop(resize_keep_ratio(img, (size, size), 1.0, interp), (size, size), (fill, fill, fill))
    elif mode == 'squash':
        arr = np.array(tv_resize(img, (size, size), interp))
    else:
        arr = tv_center_crop(tv_resize(img, size, interp), (size, size))
    return arr, to_tensor_normalize(arr, pc.get('mean', OPENAI[0]), pc.get('std', OPENAI[1]))


# --- the cases: configs as the hubs publish them for each processor type ------------------------------

def hf(kind, **fields):
    cfg = {'image_processor_type': kind, 'do_resize': True, 'do_rescale': True, 'rescale_factor': 1 / 255, 'do_normalize': True}
    cfg.update(fields)
    return cfg


CASES = {
    # google/vit-base-patch16-224
    'vit': ('preprocessor_config.json', hf('ViTImageProcessor', size={'height': 224, 'width': 224}, resample=2,
                                           image_mean=STANDARD[0], image_std=STANDARD[1])),
    # openai/clip-vit-base-patch32
    'clip': ('preprocessor_config.json', hf('CLIPImageProcessor', size={'shortest_edge': 224}, crop_size={'height': 224, 'width': 224},
                                            do_center_crop=True, do_convert_rgb=True, resample=3, image_mean=OPENAI[0], image_std=OPENAI[1])),
    # facebook/dinov2-base (BitImageProcessor)
    'dinov2': ('preprocessor_config.json', hf('BitImageProcessor', size={'shortest_edge': 256}, crop_size={'height': 224, 'width': 224},
                                              do_center_crop=True, do_convert_rgb=True, resample=3, image_mean=IMAGENET[0], image_std=IMAGENET[1])),
    # google/siglip-base-patch16-224
    'siglip': ('preprocessor_config.json', hf('SiglipImageProcessor', size={'height': 224, 'width': 224}, resample=3,
                                              image_mean=STANDARD[0], image_std=STANDARD[1])),
    # microsoft/beit-base-patch16-224
    'beit': ('preprocessor_config.json', hf('BeitImageProcessor', size={'height': 224, 'width': 224}, crop_size={'height': 224, 'width': 224},
                                            do_center_crop=False, resample=2, image_mean=STANDARD[0], image_std=STANDARD[1])),
    # facebook/deit-base-distilled-patch16-224
    'deit': ('preprocessor_config.json', hf('DeiTImageProcessor', size={'height': 256, 'width': 256}, crop_size={'height': 224, 'width': 224},
                                            do_center_crop=True, resample=3, image_mean=IMAGENET[0], image_std=IMAGENET[1])),
    # facebook/convnext-tiny-224
    'convnext': ('preprocessor_config.json', hf('ConvNextImageProcessor', size={'shortest_edge': 224}, crop_pct=0.875, resample=3,
                                                image_mean=IMAGENET[0], image_std=IMAGENET[1])),
    # timm/vit_base_patch16_224.augreg_in21k_ft_in1k and friends
    'timm_center': ('config.json', {'architecture': 'vit_base_patch16_224', 'num_classes': 1000, 'pretrained_cfg': {
        'input_size': [3, 224, 224], 'interpolation': 'bicubic', 'crop_pct': 0.9, 'crop_mode': 'center', 'mean': STANDARD[0], 'std': STANDARD[1]}}),
    'timm_squash': ('config.json', {'architecture': 'vit_base_patch14_reg4_dinov2', 'num_classes': 1000, 'pretrained_cfg': {
        'input_size': [3, 224, 224], 'interpolation': 'bilinear', 'crop_pct': 0.95, 'crop_mode': 'squash', 'mean': IMAGENET[0], 'std': IMAGENET[1]}}),
    'timm_border': ('config.json', {'architecture': 'vit_small_patch16_224', 'num_classes': 1000, 'pretrained_cfg': {
        'input_size': [3, 224, 224], 'interpolation': 'bicubic', 'crop_pct': 1.0, 'crop_mode': 'border', 'mean': IMAGENET[0], 'std': IMAGENET[1]}}),
    'timm_wide': ('config.json', {'architecture': 'vit_small_patch16_224', 'num_classes': 1000, 'pretrained_cfg': {
        'input_size': [3, 192, 256], 'interpolation': 'bicubic', 'crop_pct': 0.875, 'mean': IMAGENET[0], 'std': IMAGENET[1]}}),
    # laion/CLIP-ViT-B-32-laion2B-s34B-b79K (open_clip_config.json)
    'open_clip': ('open_clip_config.json', {'model_cfg': {'embed_dim': 512, 'vision_cfg': {'image_size': 224}},
                                            'preprocess_cfg': {'mean': OPENAI[0], 'std': OPENAI[1]}}),
}


def reference(name, img):
    file, cfg = CASES[name]
    if file == 'preprocessor_config.json':
        return hf_processor(img, cfg)
    if file == 'config.json':
        return timm_eval(img, cfg['pretrained_cfg'])
    return open_clip_eval(img, cfg)


def photos():
    os.makedirs(OUT, exist_ok=True)
    for name in ('chelsea', 'coffee'):
        shutil.copyfile(os.path.join(SKIMAGE, f'{name}.png'), os.path.join(OUT, f'{name}.png'))
    astronaut = Image.open(os.path.join(SKIMAGE, 'astronaut.png')).convert('RGB')
    astronaut.crop((96, 32, 416, 480)).save(os.path.join(OUT, 'astronaut.png'), optimize=True)
    return ['astronaut', 'chelsea', 'coffee']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--full', help='also write the full reference tensors (raw float32) here')
    args = ap.parse_args()
    names = photos()
    rng = np.random.default_rng(0)
    cases = []
    for case, (file, cfg) in CASES.items():
        for photo in names:
            img = Image.open(os.path.join(OUT, f'{photo}.png'))
            _, x = reference(case, img)
            flat = x.reshape(-1)
            idx = np.sort(rng.choice(flat.size, 256, replace=False))
            cases.append({
                'case': case, 'photo': f'{photo}.png', 'file': file, 'config': cfg, 'shape': list(x.shape),
                'channelMean': [round(float(x[c].astype(np.float64).mean()), 7) for c in range(3)],
                'samples': {'index': idx.tolist(), 'value': [round(float(v), 6) for v in flat[idx]]},
            })
            if args.full:
                os.makedirs(args.full, exist_ok=True)
                x.astype('<f4').tofile(os.path.join(args.full, f'{case}.{photo}.f32'))
    with open(os.path.join(OUT, 'parity.json'), 'w') as f:
        json.dump({'pillow': Image.__version__, 'cases': cases}, f, separators=(',', ':'))
    hub_folders()


LABELS = ['tabby', 'beagle', 'coffee mug', 'astronaut', 'teapot']


def hub_folders():
    """A transformers.js-style folder and a timm hub folder around existing tiny fixture models, with
    the reference input each config makes of chelsea.png (the model takes 32x32)."""
    fixtures = os.path.join(REPO, 'test', 'fixtures')
    chelsea = Image.open(os.path.join(OUT, 'chelsea.png'))

    js = os.path.join(fixtures, 'hub_transformersjs')
    os.makedirs(os.path.join(js, 'onnx'), exist_ok=True)
    shutil.copyfile(os.path.join(fixtures, 'hf_vit_op17', 'model.onnx'), os.path.join(js, 'onnx', 'model.onnx'))
    shutil.copyfile(os.path.join(fixtures, 'quantized_int8', 'model.onnx'), os.path.join(js, 'onnx', 'model_quantized.onnx'))
    prep = hf('CLIPImageProcessor', size={'shortest_edge': 40}, crop_size={'height': 32, 'width': 32}, do_center_crop=True,
              do_convert_rgb=True, resample=3, image_mean=OPENAI[0], image_std=OPENAI[1])
    write_json(os.path.join(js, 'preprocessor_config.json'), prep)
    write_json(os.path.join(js, 'config.json'), {'model_type': 'vit', 'architectures': ['ViTForImageClassification'],
                                                 'id2label': {str(i): n for i, n in enumerate(LABELS)},
                                                 'label2id': {n: i for i, n in enumerate(LABELS)}})
    write_json(os.path.join(js, 'input.json'), {'photo': 'chelsea.png', 'data': rounded(hf_processor(chelsea, prep)[1])})

    tm = os.path.join(fixtures, 'hub_timm')
    os.makedirs(tm, exist_ok=True)
    shutil.copyfile(os.path.join(fixtures, 'timm_vit_op17', 'model.onnx'), os.path.join(tm, 'model.onnx'))
    pc = {'input_size': [3, 32, 32], 'interpolation': 'bicubic', 'crop_pct': 0.9, 'crop_mode': 'center',
          'mean': IMAGENET[0], 'std': IMAGENET[1], 'num_classes': 5}
    write_json(os.path.join(tm, 'config.json'), {'architecture': 'vit_tiny_patch8_32', 'num_classes': 5, 'num_features': 32,
                                                 'pretrained_cfg': pc, 'label_names': LABELS})
    write_json(os.path.join(tm, 'input.json'), {'photo': 'chelsea.png', 'data': rounded(timm_eval(chelsea, pc)[1])})


def rounded(x):
    """Six decimals: the tests allow 1e-5."""
    return [round(float(v), 6) for v in x.reshape(-1)]


def write_json(path, value):
    with open(path, 'w') as f:
        json.dump(value, f, indent=None if 'data' in value else 2)
        f.write('\n')


if __name__ == '__main__':
    main()
